import numpy as np

from tfedge.edge.classify import dequantize, softmax, to_scores, top_k


def test_top_k_orders_and_applies_threshold():
    scores = np.array([0.1, 0.5, 0.05, 0.35])
    assert top_k(scores, 2) == [(1, 0.5), (3, 0.35)]
    assert top_k(scores, 3, score_threshold=0.2) == [(1, 0.5), (3, 0.35)]
    assert top_k(scores, 99)[0] == (1, 0.5)


def test_dequantize_uses_scale_and_zero_point():
    raw = np.array([[0, 128, 255]], np.uint8)
    values = dequantize(raw, {"quantization": (1 / 256, 0)})
    np.testing.assert_allclose(values, [[0, 0.5, 255 / 256]])
    assert dequantize(np.array([0.25], np.float32), {"quantization": (0.0, 0)})[0] == 0.25


def test_logits_become_probabilities():
    scores = to_scores(np.array([1.0, 2.0, 3.0]), "logits")
    np.testing.assert_allclose(scores.sum(), 1.0, rtol=1e-6)
    np.testing.assert_allclose(scores, softmax(np.array([1.0, 2.0, 3.0])))
