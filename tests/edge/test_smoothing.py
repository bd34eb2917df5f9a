import numpy as np
import pytest

from tfedge.edge.live.smoothing import Smoother, SmoothingSettings

A, B = np.array([0.9, 0.1]), np.array([0.2, 0.8])


def stable_labels(settings, frames):
    smoother = Smoother(settings)
    return [smoother.update(scores)[0] for scores in frames]


def test_moving_average_ignores_a_single_odd_frame():
    frames = [A, A, A, B, A, A]
    assert stable_labels(SmoothingSettings("average", window=3), frames) == [0] * 6


def test_moving_average_follows_a_lasting_change():
    labels = stable_labels(SmoothingSettings("average", window=3), [A, A, A, B, B, B])
    assert labels == [0, 0, 0, 0, 1, 1]


def test_vote_needs_n_of_m():
    frames = [A, B, B, A, B, B]
    settings = SmoothingSettings("vote", window=4, votes=3)
    assert stable_labels(settings, frames) == [None, None, None, None, 1, 1]
    # a majority of 3 frames by default: 2
    assert stable_labels(SmoothingSettings("vote", window=3), [A, A, B, B]) == [None, 0, 0, 1]


def test_window_one_is_no_smoothing():
    assert stable_labels(SmoothingSettings("average", window=1), [A, B, A]) == [0, 1, 0]


def test_threshold_keeps_the_old_label_until_the_new_one_is_confident():
    unsure = np.array([0.45, 0.55])
    smoother = Smoother(SmoothingSettings("average", window=1, score_threshold=0.6))
    assert smoother.update(A) == (0, pytest.approx(0.9))
    index, score = smoother.update(unsure)
    assert index == 0 and score == pytest.approx(0.45)


@pytest.mark.parametrize("bad", [dict(method="median"), dict(window=0), dict(window=3, votes=4),
                                 dict(score_threshold=1.5)])
def test_bad_settings_are_refused(bad):
    with pytest.raises(ValueError):
        SmoothingSettings(**bad)
