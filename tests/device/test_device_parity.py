"""The emulated Pi computes what x86 computed: same input tensors in, same output tensors out.

Measured on the x86 tensors (so only the interpreter's arithmetic is compared):
- TFLite's reference kernels: int8 outputs bit-identical to x86. This is the exactness check:
  a wrongly emulated instruction shows here (QEMU 7.2's default "max" CPU model gets int8
  outputs wrong by up to 254 in XNNPACK).
- The runtime's own kernels (what `tfedge run` uses: XNNPACK in ai-edge-litert, ruy in
  tflite-runtime 2.14): their requantization rounds differently on Arm and x86, so int8 may
  differ by a few quantization steps in some values (seen: 1 with ai-edge-litert, 3 with
  tflite-runtime); predictions must be identical. float32 within FLOAT_TOLERANCE.
The largest differences are written to TFEDGE_DEVICE_RESULTS for the harness's report.
A second test decodes the frames on the device itself.
"""

import numpy as np
import pytest
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

FLOAT_TOLERANCE = 1e-5  # on softmax probabilities in [0, 1]
# quantization steps the optimized kernels may differ by: their requantization rounds differently on
# Arm and x86 and the differences compound through the layers (measured: up to 1 step with
# ai-edge-litert, up to 4 with tflite-runtime's ruy); predictions must still be identical
INT8_RUNTIME_STEPS = 6
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


@pytest.mark.parametrize("source", SOURCES)
def test_reference_kernels_match_x86(classifier, source, fixtures, results):
    quant = classifier.card.quantization
    inputs = np.load(reference_file(fixtures, quant, source, "inputs"))
    expected = np.load(reference_file(fixtures, quant, source, "raw_reference"))
    outcome = compare(raw_outputs(reference_kernels(classifier), inputs), expected)
    results.record(f"reference_kernels/{quant}/{source}", outcome)
    if quant == "int8":
        assert outcome["bit_identical"], f"int8 reference kernels differ from x86: {outcome}"
    else:
        assert outcome["max_abs_difference"] <= FLOAT_TOLERANCE


@pytest.mark.parametrize("source", SOURCES)
def test_runtime_kernels_match_x86(classifier, source, fixtures, results):
    quant = classifier.card.quantization
    inputs = np.load(reference_file(fixtures, quant, source, "inputs"))
    expected = np.load(reference_file(fixtures, quant, source, "raw"))
    got = raw_outputs(classifier.interpreter, inputs)
    outcome = compare(got, expected)
    results.record(f"runtime_kernels/{quant}/{source}", {**outcome, "backend": str(classifier.backend)})
    assert np.array_equal(got.argmax(axis=-1), expected.argmax(axis=-1)), "predictions differ from x86"
    if quant == "int8":
        assert outcome["max_abs_difference"] <= INT8_RUNTIME_STEPS, outcome
    else:
        assert outcome["max_abs_difference"] <= FLOAT_TOLERANCE, outcome


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
