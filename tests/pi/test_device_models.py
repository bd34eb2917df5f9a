"""The models the emulated Pi checks (make test-pi exports them from this test) are device-ready.

Run with TFEDGE_EXPORT_TEST_MODELS=DIR, the session fixture copies them there.
"""

import numpy as np

from tfedge.edge.classify import Classifier


def test_both_models_carry_cards_and_load_through_the_device_path(tflite_models):
    for quant, path in tflite_models.items():
        classifier = Classifier(path)
        assert classifier.model.card is not None, f"{quant} model has no embedded card"
        assert classifier.card.quantization == quant
        assert classifier.card.self_test, f"{quant} model has no self-test for the device to run"
        assert len(classifier.labels) == 10
        expected_input = np.uint8 if quant == "int8" else np.float32
        assert classifier.input_detail["dtype"] == expected_input
