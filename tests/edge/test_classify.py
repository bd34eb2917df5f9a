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
    # softmax([1, 2, 3]) = e^i / (e + e^2 + e^3), worked out by hand, not by the code under test
    expected = [0.09003057, 0.24472847, 0.66524096]
    np.testing.assert_allclose(scores, expected, rtol=1e-6)
    np.testing.assert_allclose(softmax(np.array([1.0, 2.0, 3.0])), expected, rtol=1e-6)
    # large logits (int8 models dequantize to tens or hundreds) must not overflow into nan
    np.testing.assert_allclose(to_scores(np.array([1000.0, 1001.0, 1002.0]), "logits"), expected, rtol=1e-6)


def test_probabilities_pass_through_unchanged_as_one_row():
    scores = to_scores(np.array([[0.2, 0.7, 0.1]]))
    assert scores.shape == (3,)
    np.testing.assert_allclose(scores, [0.2, 0.7, 0.1], rtol=1e-6)
