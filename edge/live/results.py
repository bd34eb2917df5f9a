"""The result stage: each classified frame becomes a result for the sinks, in its own thread.

The inference thread hands over the raw output of each invoke() and goes straight on to the next
frame. This thread makes the scores, smooths them, builds the result (top-k, margin, events,
live stats; the keys are listed in tfedge.edge.sinks) and hands it to every sink, in the order
the frames were classified, while the interpreter runs the next frame. Done by the inference
thread itself, that work took about 50 us a frame, cache-cold after an invoke(): 3% of a
MobileNetV2 frame on the 2-core machine (timestamps around each step of the loop, 720p; the
classifier's share of the run in invoke() went from 0.955 to 0.975, benchmarks/edge_pipeline.py).
One classified frame at most is in the stage; the next one waits for it (a picture is 2.7 MB at
720p).

A sink asking the run to stop (`stop_requested`) ends it after its result: results of frames
classified meanwhile are dropped. A sink that raises stops the stage; `error` holds the exception
for the inference thread to raise.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from tfedge.edge.classify import top_k
from tfedge.edge.live.capture import Capture, Frame
from tfedge.edge.live.smoothing import Smoother
from tfedge.edge.percentile import percentile


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
            "p50_inference_ms": round(percentile(times, 50), 3),
            "p95_inference_ms": round(percentile(times, 95), 3),
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


class Classified(NamedTuple):
    """One frame through invoke(), on its way to the result stage (a tuple: made on every frame
    by the inference thread, a third of a frozen dataclass's cost)."""

    frame: Frame
    classifier: object  # the tfedge.edge.classify.Classifier that ran it (its labels, its output)
    raw: np.ndarray  # a copy of the output tensor
    inference_ms: float
    model_change: dict | None = None  # the event when this frame is a new model's first
    model: str | None = None  # the short sha256 of that classifier's file (hot swap), else None


_END = object()


class ResultStage:
    """Runs `sinks` on results in its own thread; `put` each classified frame, `finish` once.

    Args:
        sinks: started here (`start(info)`), given each result (`emit`), closed by `finish`.
        options: a tfedge.edge.live.pipeline.RunOptions (top_k, score_threshold, smoothing).
        capture: the running Capture (its dropped frames and reconnects go into the stats).
        info: what the run is (model, labels, source), for the sinks' `start`.
        events: () -> an event of the run's own to report (the hot swap's model_rejected) or
            None; asked on a result that has no event of its own.
    """

    def __init__(self, sinks: list, options, capture: Capture, info: dict | None = None,
                 events=None) -> None:
        self.sinks = sinks
        self.options = options
        self.capture = capture
        self.stats = RunStats()
        self.smoother = Smoother(options.smoothing)
        self.changes = LabelChanges()
        self.events = events
        self.stop_requested = False  # a sink asked the run to stop
        self.error: BaseException | None = None  # raised by a sink; the stage stopped
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._room: queue.SimpleQueue = queue.SimpleQueue()  # one token: one frame in the stage
        self._room.put(None)
        for sink in sinks:
            if hasattr(sink, "start"):
                sink.start(info or {})
        self._thread = threading.Thread(target=self._run, name="tfedge-results", daemon=True)
        self._thread.start()

    def put(self, classified: Classified) -> None:
        """Hand over the next classified frame (waits while the one before is still in the stage)."""
        self._room.get()
        self._queue.put(classified)

    def finish(self, stopped_by: str) -> dict:
        """Wait for the results handed over, close every sink with the summary and return it."""
        self._queue.put(_END)
        self._thread.join()
        summary = self.stats.summary(self.capture)
        summary["stopped_by"] = "output" if self.stop_requested else stopped_by
        for sink in self.sinks:
            if hasattr(sink, "facts"):
                summary.update(sink.facts())
        for sink in self.sinks:
            sink.close(summary)
        return summary

    def _run(self) -> None:
        while (classified := self._queue.get()) is not _END:
            if not self.stop_requested and self.error is None:
                try:
                    self._emit(classified)
                except BaseException as error:  # noqa: BLE001 - raised again by the inference thread
                    self.error = error
            classified = None  # the frame goes now, not once the next one arrives (peak memory)
            self._room.put(None)

    def _emit(self, classified: Classified) -> None:
        options, classifier, frame = self.options, classified.classifier, classified.frame
        prediction = classifier.prediction(classified.raw, classified.inference_ms)
        if classified.model_change is not None:  # a new model: its own smoothing, events resume after
            self.smoother, self.changes.hold = Smoother(options.smoothing), True
        self.stats.add(prediction.inference_ms)
        stable_index, stable_score = self.smoother.update(prediction.scores)
        result = {
            "frame": frame.index,
            "timestamp": round(frame.timestamp, 3),
            "label": prediction.label,
            "score": round(prediction.score, 4),
            "margin": round(top_two_margin(prediction.scores), 4),
            "top_k": [[classifier.label_of(i), round(s, 4)]
                      for i, s in top_k(prediction.scores, options.top_k, options.score_threshold)],
            "inference_ms": round(prediction.inference_ms, 3),
            "fps": round(self.stats.fps(), 2),
            "stable_label": None if stable_index is None else classifier.label_of(stable_index),
            "stable_score": round(stable_score, 4),
        }
        if classified.model is not None:
            result["model"] = classified.model
        # the first frame of a new model carries its model_change; label changes resume after
        result["event"] = classified.model_change or self.changes.event(result)
        if result["event"] is None and self.events is not None:
            result["event"] = self.events()
        result["stats"] = self.stats.live(self.capture)
        for sink in self.sinks:
            sink.emit(result, frame.image)
        if any(getattr(sink, "stop_requested", False) for sink in self.sinks):
            self.stop_requested = True
