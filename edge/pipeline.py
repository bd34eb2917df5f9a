"""Read frames, classify them, hand results to sinks, and keep the run's statistics."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from tfedge.edge.classify import Classifier


@dataclass
class RunStats:
    """Frame count, wall time and per-frame inference times of one run."""

    frames: int = 0
    started: float = field(default_factory=time.perf_counter)
    inference_ms: list[float] = field(default_factory=list)

    def add(self, inference_ms: float) -> None:
        self.frames += 1
        self.inference_ms.append(inference_ms)

    def fps(self) -> float:
        elapsed = time.perf_counter() - self.started
        return self.frames / elapsed if elapsed > 0 else 0.0

    def summary(self) -> dict:
        times = np.asarray(self.inference_ms or [0.0])
        return {
            "frames": self.frames,
            "fps": round(self.fps(), 2),
            "mean_inference_ms": round(float(times.mean()), 3),
            "p95_inference_ms": round(float(np.percentile(times, 95)), 3),
        }


def run_pipeline(classifier: Classifier, source, sinks: list, max_frames: int | None = None) -> dict:
    """Classify frames from `source` until it ends (or `max_frames`); returns the summary."""
    stats = RunStats()
    try:
        while max_frames is None or stats.frames < max_frames:
            ok, frame = source.read()
            if not ok:
                break
            prediction = classifier.classify(frame)
            stats.add(prediction.inference_ms)
            result = {
                "frame": stats.frames - 1,
                "timestamp": round(time.time(), 3),
                "label": prediction.label,
                "score": round(prediction.score, 4),
                "inference_ms": round(prediction.inference_ms, 3),
                "fps": round(stats.fps(), 2),
            }
            for sink in sinks:
                if getattr(sink, "wants_frames", False):
                    sink.emit(result, frame)
                else:
                    sink.emit(result)
            if any(getattr(sink, "stop_requested", False) for sink in sinks):
                break
    finally:
        source.release()
    summary = stats.summary()
    for sink in sinks:
        sink.close(summary)
    return summary
