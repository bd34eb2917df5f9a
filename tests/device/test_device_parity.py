"""The emulated Pi computes what x86 computed: same input tensors in, same output tensors out.

Measured on the x86 tensors (so only the interpreter's arithmetic is compared):
- TFLite's reference kernels: int8 outputs bit-identical to x86 where the device runs the same
  TFLite version as x86 (the exactness check: a wrongly emulated instruction shows here; QEMU
  7.2's default "max" CPU model gets int8 outputs wrong by up to 254 in XNNPACK). Between
  different versions (tflite-runtime 2.14 against x86's ai-edge-litert) the reference kernels
  themselves changed (seen: 2 steps in 6 of 800 values), so there within the runtime tolerance.
- The runtime's own kernels (what `tfedge run` uses: XNNPACK in ai-edge-litert, ruy in
  tflite-runtime 2.14): their requantization rounds differently on Arm and x86, so int8 may
  differ by a few quantization steps in some values (seen: 1 with ai-edge-litert; with
  tflite-runtime 2.14, another TFLite version than x86's, up to 8: held to
  agreement.OTHER_VERSION_INT8_STEPS). float32 within 1e-5 (agreement.TOLERANCE).
- Predictions (top-1) must be identical on every *decided* frame, one whose x86 margin between
  top-1 and top-2 exceeds what the tolerance can flip; near-ties are counted and reported, and
  too many of them fail (tests/device/agreement.py).
The largest differences and the near-ties are written to TFEDGE_DEVICE_RESULTS for the
harness's report.
A second test decodes the frames on the device itself.
"""

import numpy as np
import pytest
from agreement import OTHER_VERSION_INT8_STEPS, TOLERANCE, compare_predictions
from recording import (
    QUANTS,
    SOURCES,
    input_tensors,
    model_path,
    raw_outputs,
    reference_file,
    reference_kernels,
    source_path,
)

from tfedge.edge.classify import Classifier

VIDEO_DECODE_LEVELS = 4  # MPEG-4 Part 2's IDCT is not bit-exact across CPU architectures


@pytest.fixture(scope="module", params=QUANTS)
def classifier(request, fixtures, backend):
    return Classifier(model_path(fixtures, request.param), backend=backend)


def compare(got: np.ndarray, expected: np.ndarray) -> dict:
    assert got.dtype == expected.dtype and got.shape == expected.shape
    difference = np.abs(got.astype(np.float64) - expected.astype(np.float64))
    return {"frames": len(got), "values": int(got.size),
            "differing_values": int((difference > 0).sum()),
            "max_abs_difference": float(difference.max()),
            "bit_identical": bool(np.array_equal(got, expected))}


def same_tflite(classifier, x86_facts) -> bool:
    """Whether the device runs the interpreter x86 recorded its reference with, version included."""
    return str(classifier.backend) == x86_facts["backend"]


def predictions(got: np.ndarray, expected: np.ndarray, quant: str) -> dict:
    """Top-1 agreement on decided frames and the near-ties (agreement.py), as a report."""
    return compare_predictions(got.argmax(axis=-1), expected.argmax(axis=-1), expected,
                               TOLERANCE[quant]).report()


@pytest.mark.parametrize("source", SOURCES)
def test_reference_kernels_match_x86(classifier, source, fixtures, results, x86_facts):
    quant = classifier.card.quantization
    inputs = np.load(reference_file(fixtures, quant, source, "inputs"))
    expected = np.load(reference_file(fixtures, quant, source, "raw_reference"))
    got = raw_outputs(reference_kernels(classifier), inputs)
    outcome = compare(got, expected)
    exact = quant == "int8" and same_tflite(classifier, x86_facts)
    outcome.update(device=str(classifier.backend), x86=x86_facts["backend"], required_bit_identical=exact)
    outcome["predictions"] = predictions(got, expected, quant)
    results.record(f"reference_kernels/{quant}/{source}", outcome)
    if exact:
        assert outcome["bit_identical"], f"int8 reference kernels differ from x86's same version: {outcome}"
    else:
        assert outcome["max_abs_difference"] <= TOLERANCE[quant], outcome
        assert outcome["predictions"]["ok"], f"predictions differ from x86: {outcome}"


@pytest.mark.parametrize("source", SOURCES)
def test_runtime_kernels_match_x86(classifier, source, fixtures, results, x86_facts):
    quant = classifier.card.quantization
    inputs = np.load(reference_file(fixtures, quant, source, "inputs"))
    expected = np.load(reference_file(fixtures, quant, source, "raw"))
    got = raw_outputs(classifier.interpreter, inputs)
    outcome = compare(got, expected)
    outcome["predictions"] = predictions(got, expected, quant)
    bound = TOLERANCE[quant]
    if quant == "int8" and not same_tflite(classifier, x86_facts):
        bound = OTHER_VERSION_INT8_STEPS
    results.record(f"runtime_kernels/{quant}/{source}",
                   {**outcome, "backend": str(classifier.backend), "bound": bound})
    assert outcome["max_abs_difference"] <= bound, outcome
    assert outcome["predictions"]["ok"], f"predictions differ from x86: {outcome}"


@pytest.mark.parametrize("source", SOURCES)
def test_device_decoding_gives_the_x86_input_tensors(classifier, source, fixtures, results):
    """PNG is lossless: identical pixels. A video may differ by a few grey levels."""
    quant = classifier.card.quantization
    expected = np.load(reference_file(fixtures, quant, source, "inputs"))
    got = input_tensors(classifier, source_path(fixtures, source))
    outcome = compare(got, expected)
    results.record(f"decoding/{quant}/{source}", outcome)
    allowed = VIDEO_DECODE_LEVELS if source == "video" else 0
    assert outcome["max_abs_difference"] <= allowed, outcome
