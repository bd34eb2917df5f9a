"""Invoke latency of a model per interpreter backend and thread count (`tfedge bench`), and the
FPS of the whole pipeline (decode, preprocess, invoke) on a video at each thread count."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from tfedge.edge.classify import Classifier
from tfedge.edge.interpreter import Backend
from tfedge.edge.percentile import percentile


@dataclass
class BenchRow:
    backend: str
    version: str
    threads: int
    runs: int
    p50_ms: float
    p95_ms: float
    mean_ms: float
    invokes_per_s: float
    pipeline_fps: float | None = None  # the whole `tfedge run` pipeline on a video (None: not measured)

    def as_dict(self) -> dict:
        return asdict(self)


def sample_tensor(classifier: Classifier) -> np.ndarray:
    """A model input made through the card's preprocessing from a mid-gray frame."""
    height, width = classifier.card.input_size
    return classifier.prepare(np.full((height, width, 3), 128, np.uint8))


def invoke_times_ms(classifier: Classifier, runs: int, warmup: int = 5) -> np.ndarray:
    """Milliseconds of each of `runs` bare `interpreter.invoke()` calls on one fixed input."""
    interpreter = classifier.interpreter
    interpreter.set_tensor(classifier.input_detail["index"], sample_tensor(classifier))
    for _ in range(warmup):
        interpreter.invoke()
    times = np.empty(runs)
    for i in range(runs):
        start = time.perf_counter()
        interpreter.invoke()
        times[i] = time.perf_counter() - start
    return times * 1000.0


def bench_one(model, backend: Backend, threads: int, runs: int, warmup: int = 5) -> BenchRow:
    classifier = Classifier(model, num_threads=threads, backend=backend)
    times = invoke_times_ms(classifier, runs, warmup)
    return BenchRow(backend.name, backend.version, threads, runs,
                    round(percentile(times, 50), 3), round(percentile(times, 95), 3),
                    round(float(times.mean()), 3), round(1000.0 / float(times.mean()), 1))


def pipeline_fps(model, backend: Backend, threads: int, video, frames: int) -> float:
    """FPS of the whole pipeline `tfedge run --headless` uses (capture thread decoding and
    preprocessing, inference loop) on a video file, every frame classified, no outputs."""
    from tfedge.edge.cores import CorePlan, core_split
    from tfedge.edge.live.capture import Capture
    from tfedge.edge.live.pipeline import RunOptions, run_pipeline
    from tfedge.edge.live.sources import make_source
    from tfedge.edge.sinks import frames_needed
    from tfedge.edge.threads import decode_threads, limit_opencv_threads

    limit_opencv_threads()
    with CorePlan(core_split(threads)) as cores:  # as `tfedge run` places its threads
        classifier = cores.interpreter(lambda: Classifier(model, num_threads=threads, backend=backend))
        source = make_source(str(video), decode_threads=decode_threads(threads))
        source.open()
        sinks: list = []  # no outputs, so no pictures kept: tensors queued, as in `tfedge run --headless`
        capture = Capture(source, prepare=classifier.prepare, keep_images=frames_needed(sinks)).start()
        return run_pipeline(classifier, capture, sinks, RunOptions(max_frames=frames), cores=cores)["fps"]


def format_table(rows: list[BenchRow]) -> str:
    pipeline = any(row.pipeline_fps is not None for row in rows)
    header = f"{'backend':<15}{'version':<10}{'threads':>8}{'runs':>7}{'p50 ms':>10}{'p95 ms':>10}" \
             f"{'mean ms':>10}{'invokes/s':>11}" + (f"{'pipeline FPS':>14}" if pipeline else "")
    lines = [header]
    for row in rows:
        lines.append(f"{row.backend:<15}{row.version:<10}{row.threads:>8}{row.runs:>7}{row.p50_ms:>10.3f}"
                     f"{row.p95_ms:>10.3f}{row.mean_ms:>10.3f}{row.invokes_per_s:>11.1f}"
                     + (f"{row.pipeline_fps or 0:>14.1f}" if pipeline else ""))
    return "\n".join(lines)
