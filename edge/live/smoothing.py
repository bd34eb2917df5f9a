"""Temporal smoothing: the label a run reports changes only when it has been stable for a while.

Two methods, both fed one frame's class scores at a time:
- moving average (`--smoothing average --window M`): the mean of the last M frames' scores;
- N-of-M vote (`--smoothing vote --window M --votes N`): a label becomes stable when it was the
  top-1 of at least N of the last M frames.
In both, a new stable label must also reach `score_threshold` (its smoothed score).
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass

import numpy as np

METHODS = ("average", "vote")


@dataclass(frozen=True)
class SmoothingSettings:
    """How results are smoothed over time.

    Attributes:
        method: "average" (moving average of scores) or "vote" (N-of-M vote on top-1 labels).
        window: M, the number of recent frames considered (1 = no smoothing).
        votes: N, for "vote": frames out of the window that must agree (default: a majority).
        score_threshold: smoothed score a label needs before it can become the stable label.
    """

    method: str = "average"
    window: int = 5
    votes: int | None = None
    score_threshold: float = 0.0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"smoothing method {self.method!r} is not one of {', '.join(METHODS)}")
        if not 1 <= self.window <= 1000:
            raise ValueError(f"smoothing window {self.window} is out of range; use 1 to 1000")
        if self.votes is not None and not 1 <= self.votes <= self.window:
            raise ValueError(f"--votes {self.votes} must be between 1 and --window {self.window}")
        if not 0.0 <= self.score_threshold <= 1.0:
            raise ValueError(f"score threshold {self.score_threshold} must be between 0 and 1")

    @property
    def votes_needed(self) -> int:
        return self.votes if self.votes is not None else self.window // 2 + 1


class Smoother:
    """Feed `update(scores)` per frame; read back (stable index or None, its smoothed score)."""

    def __init__(self, settings: SmoothingSettings | None = None) -> None:
        self.settings = settings or SmoothingSettings()
        self.recent: deque[np.ndarray] = deque(maxlen=self.settings.window)
        self.stable: int | None = None

    def update(self, scores: np.ndarray) -> tuple[int | None, float]:
        self.recent.append(np.asarray(scores, dtype=np.float32))
        if self.settings.method == "average":
            mean = self._mean()
            best = int(mean.argmax())
            if float(mean[best]) >= self.settings.score_threshold:
                self.stable = best
            if self.stable is None:
                return None, 0.0
            # below 8 values numpy sums one after the other, so this is _smoothed_score's value
            return self.stable, (float(mean[self.stable]) if len(self.recent) < 8
                                 else self._smoothed_score(self.stable))
        candidate, candidate_score, agreed = self._vote()
        if agreed and candidate_score >= self.settings.score_threshold:
            self.stable = candidate
        if self.stable is None:
            return None, 0.0
        return self.stable, self._smoothed_score(self.stable)

    def _mean(self) -> np.ndarray:
        """The mean of the window's scores per class: np.mean(recent, axis=0), whose float32 sums
        run row after row; for short windows added here one row at a time (the same sums, the
        same result) without stacking the window into a new array on every frame (50 us)."""
        if len(self.recent) > 32:
            return np.mean(self.recent, axis=0)
        total = self.recent[0].copy()
        for scores in itertools.islice(self.recent, 1, None):
            total += scores
        total /= np.float32(len(self.recent))
        return total

    def _vote(self) -> tuple[int, float, bool]:
        tops = [int(np.argmax(scores)) for scores in self.recent]
        counts = np.bincount(tops)
        best = int(np.argmax(counts))
        return best, self._smoothed_score(best), counts[best] >= self.settings.votes_needed

    def _smoothed_score(self, index: int) -> float:
        return float(np.mean([scores[index] for scores in self.recent]))
