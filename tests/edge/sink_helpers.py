"""Shared by the web and MQTT tests: a real video whose content switches class, a paced and
gated wrapper around a real source, the pipeline run in a thread, and hand-made results
completed the way the pipeline completes its own.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

from labelled_video import write_labelled_video

from tfedge.edge.classify import Classifier
from tfedge.edge.labelled import list_classes
from tfedge.edge.live.capture import Capture
from tfedge.edge.live.pipeline import run_pipeline
from tfedge.edge.live.results import LabelChanges
from tfedge.edge.live.sources import make_source
from tfedge.edge.preprocess import decode_image

HANG_GUARD_S = 120  # only stops a broken test from hanging; no assertion depends on speed


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def confident_images(classifier: Classifier, test_dir: Path, count: int) -> list[tuple[Path, str]]:
    """One image each of `count` classes that the model gets right with its highest scores."""
    best = []
    for label, paths in sorted(list_classes(test_dir).items()):
        scored = [(classifier.classify(decode_image(p)), p) for p in paths]
        right = [(pred.score, p) for pred, p in scored if pred.label == label]
        if right:
            score, path = max(right)
            best.append((score, path, label))
    best.sort(reverse=True)
    if len(best) < count:
        raise RuntimeError(f"the test model gets only {len(best)} classes right; need {count}")
    return [(path, label) for _, path, label in best[:count]]


def switching_video(classifier: Classifier, test_dir: Path, out: Path, segments: int,
                    frames_per_segment: int) -> tuple[Path, list[int]]:
    """A real MP4 whose content changes class every `frames_per_segment` frames.

    Returns the video and the first frame index of every segment.
    """
    items = confident_images(classifier, test_dir, segments)
    path = write_labelled_video(items, out, frame_size=160, frames_per_image=frames_per_segment)
    return path, [i * frames_per_segment for i in range(segments)]


class GatedSource:
    """A real source read at camera pace that holds before chosen frames until the test says go.

    `reached[i]` is set when the source holds before frame i; setting `gates[i]` lets it read on.
    """

    def __init__(self, source, gate_frames: list[int], fps: float = 30.0) -> None:
        self.source = source
        self.live = False
        self.interval = 1.0 / fps
        self.gates = {i: threading.Event() for i in gate_frames}
        self.reached = {i: threading.Event() for i in gate_frames}
        self.position = 0

    def read(self):
        if self.position in self.gates:
            self.reached[self.position].set()
            if not self.gates[self.position].wait(HANG_GUARD_S):
                return False, None
        time.sleep(self.interval)
        self.position += 1
        return self.source.read()

    def open_all_gates(self) -> None:
        for gate in self.gates.values():
            gate.set()

    def release(self) -> None:
        self.source.release()

    def describe(self) -> dict:
        return self.source.describe()


class PipelineThread(threading.Thread):
    """`run_pipeline` on a real model and a gated real video, in the background."""

    def __init__(self, classifier: Classifier, video: Path, gate_frames: list[int], sinks: list,
                 fps: float = 30.0) -> None:
        super().__init__(daemon=True)
        self.classifier, self.sinks = classifier, sinks
        source = make_source(str(video))
        source.open()
        self.source = GatedSource(source, gate_frames, fps)
        self.summary = None
        self.error = None

    def run(self) -> None:
        try:
            self.summary = run_pipeline(self.classifier, Capture(self.source).start(), self.sinks)
        except BaseException as error:  # noqa: BLE001 - re-raised by finish() in the test thread
            self.error = error

    def finish(self) -> dict:
        self.source.open_all_gates()
        self.join(HANG_GUARD_S)
        if self.error:
            raise self.error
        return self.summary


def as_pipeline_results(results: list[dict]) -> list[dict]:
    """Hand-made results with the keys the pipeline adds, as it adds them with --smoothing none:
    each frame's label is the stable one, and the pipeline's own `LabelChanges` makes the events.
    """
    changes, completed = LabelChanges(), []
    for result in results:
        result = {"stable_label": result["label"], "stable_score": result["score"], **result}
        result["event"] = changes.event(result)
        completed.append(result)
    return completed


def wait_until(condition, what: str, timeout: float = HANG_GUARD_S, poll: float = 0.1):
    """Poll `condition()` until it returns something truthy; fail (not hang) after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"gave up waiting for {what}")
