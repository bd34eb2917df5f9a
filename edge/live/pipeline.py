"""The inference loop: take the newest captured frame, classify it, smooth, hand results to sinks.

Capture (and preprocessing) run in their own thread (tfedge.edge.live.capture); sinks return at once
and do their slow work in their own threads, so the interpreter never waits for drawing,
encoding or network output. See tfedge.edge.sinks for the result and summary keys.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from tfedge.edge.classify import Classifier, top_k
from tfedge.edge.live.capture import END, Capture
from tfedge.edge.live.smoothing import Smoother, SmoothingSettings


@dataclass(frozen=True)
class RunOptions:
    """What the inference loop reports and when it stops.

    Attributes:
        max_frames: stop after this many classified frames (None: until the source ends).
        top_k: how many (label, score) pairs each result lists.
        score_threshold: pairs below this score are left out of top_k; a stable label needs it.
        smoothing: temporal smoothing of the stable label.
    """

    max_frames: int | None = None
    top_k: int = 3
    score_threshold: float = 0.0
    smoothing: SmoothingSettings = field(default_factory=SmoothingSettings)


@dataclass
class RunStats:
    """Frames, timing and health of one run; `live()` is what sinks see on every result."""

    frames: int = 0
    started: float = field(default_factory=time.perf_counter)
    first_frame: float | None = None
    last_frame: float | None = None
    inference_ms: list[float] = field(default_factory=list)
    recent: deque = field(default_factory=lambda: deque(maxlen=30))

    def add(self, inference_ms: float) -> None:
        now = time.perf_counter()
        if self.first_frame is None:
            self.first_frame = now
        self.last_frame = now
        self.frames += 1
        self.inference_ms.append(inference_ms)
        self.recent.append(now)

    def fps(self) -> float:
        """Frames per second over the last 30 frames (live) ."""
        if len(self.recent) < 2:
            return 0.0
        return (len(self.recent) - 1) / (self.recent[-1] - self.recent[0])

    def overall_fps(self) -> float:
        if self.frames < 2 or self.last_frame == self.first_frame:
            return 0.0
        return (self.frames - 1) / (self.last_frame - self.first_frame)

    def live(self, capture: Capture) -> dict:
        return {
            "frames": self.frames,
            "fps": round(self.fps(), 2),
            "dropped_frames": capture.dropped_frames,
            "reconnects": capture.reconnects,
            "uptime_s": round(time.perf_counter() - self.started, 3),
        }

    def summary(self, capture: Capture) -> dict:
        times = np.asarray(self.inference_ms or [0.0])
        return {
            "frames": self.frames,
            "fps": round(self.overall_fps(), 2),
            "p50_inference_ms": round(float(np.percentile(times, 50)), 3),
            "p95_inference_ms": round(float(np.percentile(times, 95)), 3),
            "mean_inference_ms": round(float(times.mean()), 3),
            "dropped_frames": capture.dropped_frames,
            "reconnects": capture.reconnects,
            "uptime_s": round(time.perf_counter() - self.started, 3),
        }


class LabelChanges:
    """Builds each result's `event`: the only place a label-change event is made.

    `event(result)` returns {"type": "label_change", "label", "previous", "score", "timestamp"}
    on the result whose `stable_label` differs from the one before, else None.
    """

    def __init__(self) -> None:
        self.previous: str | None = None
        self.hold = False  # after a model change: no event until the new model has a stable label

    def event(self, result: dict) -> dict | None:
        label = result["stable_label"]
        if self.hold and label is None:
            return None
        self.hold = False
        if label == self.previous:
            return None
        event = {"type": "label_change", "label": label, "previous": self.previous,
                 "score": result["stable_score"], "timestamp": result["timestamp"]}
        self.previous = label
        return event


def top_two_margin(scores: np.ndarray) -> float:
    """Top-1 score minus top-2 score (1.0 for a one-class model): small means unsure."""
    if len(scores) < 2:
        return 1.0
    second, first = np.partition(scores, -2)[-2:]
    return float(first - second)


def run_pipeline(classifier: Classifier, capture: Capture, sinks: list, options: RunOptions = RunOptions(),
                 stop: threading.Event | None = None, info: dict | None = None, models=None) -> dict:
    """Classify frames from a started `capture` until it ends, `stop` is set, `max_frames` is
    reached or a sink sets `stop_requested`. Closes every sink with the summary and returns it.

    `models`: a tfedge.edge.live.hot_swap.HotSwap that may hand over a new classifier between
    two frames (the capture must prepare with its `prepare`); None: `classifier` throughout.
    """
    stop = stop or threading.Event()
    stats = RunStats()
    smoother = Smoother(options.smoothing)
    changes = LabelChanges()
    stopped_by = "end of source"
    for sink in sinks:
        if hasattr(sink, "start"):
            sink.start(info or {})
    try:
        while True:
            if stop.is_set():
                stopped_by = "signal"
                break
            if options.max_frames is not None and stats.frames >= options.max_frames:
                stopped_by = "max frames"
                break
            item = capture.get(timeout=0.1)
            if item is None:
                continue
            if item is END:
                if capture.error is not None:
                    raise capture.error
                break
            # a tensor made for another classifier (before a model swap) is made again for this one
            tensor, model_change = (item.tensor if item.prepared_for is classifier else None), None
            if models is not None:  # hot swap: the model may change here, between two frames
                classifier, tensor, model_change = models.input_for(item)
                if model_change is not None:
                    smoother, changes.hold = Smoother(options.smoothing), True
            prediction = classifier.classify(item.image, tensor=tensor)
            stats.add(prediction.inference_ms)
            stable_index, stable_score = smoother.update(prediction.scores)
            result = {
                "frame": item.index,
                "timestamp": round(item.timestamp, 3),
                "label": prediction.label,
                "score": round(prediction.score, 4),
                "margin": round(top_two_margin(prediction.scores), 4),
                "top_k": [[classifier.label_of(i), round(s, 4)]
                          for i, s in top_k(prediction.scores, options.top_k, options.score_threshold)],
                "inference_ms": round(prediction.inference_ms, 3),
                "fps": round(stats.fps(), 2),
                "stable_label": None if stable_index is None else classifier.label_of(stable_index),
                "stable_score": round(stable_score, 4),
            }
            if models is not None:
                result["model"] = models.short_sha
            # the first frame of a new model carries its model_change; label changes resume after
            result["event"] = model_change or changes.event(result)
            if result["event"] is None and models is not None:
                result["event"] = models.pop_event()
            result["stats"] = stats.live(capture)
            for sink in sinks:
                sink.emit(result, item.image)
            if any(getattr(sink, "stop_requested", False) for sink in sinks):
                stopped_by = "output"
                break
            item = None  # the frame goes now, not after the next one is decoded (peak memory)
    finally:
        capture.stop()
        summary = stats.summary(capture)
        summary["stopped_by"] = stopped_by
        for sink in sinks:
            if hasattr(sink, "facts"):
                summary.update(sink.facts())
        for sink in sinks:
            sink.close(summary)
    return summary
