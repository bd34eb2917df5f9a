"""The device suite's prediction check (tests/device/agreement.py) fails where it should.

It runs on the host: the emulated Pi only runs it against x86's references.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "device"))
from agreement import compare_predictions, margins, near_tie_frames  # noqa: E402

STEPS = 6
# x86's raw int8 scores of 5 frames, 3 classes: frame 2's top-1 leads by 10 steps (a near-tie at
# a 6-step tolerance: 2 * 6 = 12 can flip it); every other frame leads by 100 or more.
X86 = np.array([[200, 50, 6], [10, 230, 16], [120, 110, 26], [0, 0, 255], [128, 20, 108]], np.uint8)


def test_margins_and_near_ties_are_measured_in_the_scores_units():
    assert margins(X86).tolist() == [150, 214, 10, 255, 20]
    assert near_tie_frames(X86, STEPS) == [2]
    assert near_tie_frames(X86, 10) == [2, 4]  # a margin of exactly 2 * tolerance can tie
    assert near_tie_frames(X86.astype(np.float32) / 256, 1e-5) == []


def test_identical_predictions_agree():
    labels = X86.argmax(axis=-1)
    agreement = compare_predictions(labels, labels, X86, STEPS)
    assert agreement.ok and agreement.near_ties == [2] and not agreement.differing_near_ties


def test_a_flipped_near_tie_is_allowed_and_reported():
    got = X86.argmax(axis=-1).copy()
    got[2] = 1
    agreement = compare_predictions(got, X86.argmax(axis=-1), X86, STEPS)
    assert agreement.ok and agreement.differing_near_ties == [2]
    assert agreement.report()["differing_near_ties"] == [2]


def test_a_flipped_decided_frame_fails():
    got = X86.argmax(axis=-1).copy()
    got[4] = 2  # margin 20 > 12: no allowed difference explains it
    agreement = compare_predictions(got, X86.argmax(axis=-1), X86, STEPS)
    assert not agreement.ok and agreement.differing_decided == [4]


def test_too_many_near_ties_fail_even_when_labels_agree():
    ties = np.tile(np.array([[100, 95, 0]], np.uint8), (20, 1))
    ties[:14, 1] = 0  # 6 near-ties in 20 frames: over a quarter
    labels = ties.argmax(axis=-1)
    assert not compare_predictions(labels, labels, ties, STEPS).ok
    ties[14, 1] = 0  # 5 of 20: allowed
    assert compare_predictions(labels, labels, ties, STEPS).ok


def test_names_work_as_labels_and_frame_counts_must_match():
    names = np.array(["a", "b", "c"])[X86.argmax(axis=-1)]
    assert compare_predictions(list(names), list(names), X86, STEPS).ok
    with pytest.raises(ValueError, match="frame counts differ"):
        compare_predictions(list(names)[:4], list(names), X86, STEPS)
