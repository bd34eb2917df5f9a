"""The emulated Pi computes what x86 computed: same input tensors in, same output tensors out.

int8 outputs must be bit-identical; float32 within FLOAT_TOLERANCE (reported as the largest
absolute difference); predictions identical. The inputs are the x86 tensors, so only the
interpreter's arithmetic is compared; a second test decodes the frames on the device itself.
"""

import numpy as np
import pytest
from recording import QUANTS, SOURCES, input_tensors, model_path, raw_outputs, reference_file, source_path

from tfedge.edge.classify import Classifier

FLOAT_TOLERANCE = 1e-5  # on softmax probabilities in [0, 1]


@pytest.fixture(scope="module", params=QUANTS)
def classifier(request, fixtures, backend):
    return Classifier(model_path(fixtures, request.param), backend=backend)


@pytest.mark.parametrize("source", SOURCES)
def test_outputs_match_x86_for_the_same_input_tensors(classifier, source, fixtures, results):
    quant = classifier.card.quantization
    inputs = np.load(reference_file(fixtures, quant, source, "inputs"))
    expected = np.load(reference_file(fixtures, quant, source, "raw"))
    got = raw_outputs(classifier, inputs)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    difference = float(np.max(np.abs(got.astype(np.float64) - expected.astype(np.float64))))
    results.record(f"{quant}_{source}", {"frames": len(inputs), "max_abs_difference": difference,
                                         "bit_identical": bool(np.array_equal(got, expected)),
                                         "backend": str(classifier.backend)})
    if quant == "int8":
        assert np.array_equal(got, expected), f"int8 outputs differ from x86 by up to {difference}"
    else:
        assert difference <= FLOAT_TOLERANCE
    assert np.array_equal(got.argmax(axis=1), expected.argmax(axis=1))


@pytest.mark.parametrize("source", SOURCES)
def test_device_decoding_gives_the_x86_input_tensors(classifier, source, fixtures, results):
    quant = classifier.card.quantization
    expected = np.load(reference_file(fixtures, quant, source, "inputs"))
    got = input_tensors(classifier, source_path(fixtures, source))
    assert got.shape == expected.shape
    difference = float(np.max(np.abs(got.astype(np.float64) - expected.astype(np.float64))))
    results.record(f"{quant}_{source}_decode_max_abs_difference", difference)
    assert difference == 0.0, f"the device decodes {source} frames differently (up to {difference})"
