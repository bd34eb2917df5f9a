"""`tfedge run --collect DIR`: keep the frames worth labelling, in their own thread.

In the run's result thread (tfedge.edge.live.results), `emit` only decides whether a frame is a
candidate, from the result alone (a few comparisons), skips a candidate the store would surely
refuse (its rate limits, quota, count or cap are reached and the frame is not more informative:
`CollectionStore.could_keep`), and hands the others to a small best-first queue: when it is
full, a candidate takes the place of the least informative waiting one, or is dropped; either
way one is counted as dropped, and the writer takes the most informative first. The writer
thread makes the model's view, the image signature and both JPEGs, and offers them to the
`CollectionStore`, which applies the limits.

Reasons (tfedge.edge.collection.REASONS), first match wins:
- label_change: the frame on which the stable label changes (not the first stable label);
- low_margin: top-1 minus top-2 score below `margin`;
- disagreement: the frame's own label differs from the stable label, and the next frame's
  stable label is still that same one (a flicker, not a change); decided one frame later;
- audit: a confident frame, kept at random at `audit_rate`, so confident mistakes are found too.

After a hot swap (a `model_change` event), frames are kept with the new model's sha256 and labels,
and their model's view is made with the new file's card (read by the writer thread).

A folder that cannot be written, or fills (the disk, not the cap), stops collecting: one line
on stderr, and the run goes on classifying.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from tfedge.edge.card import ModelCard
from tfedge.edge.collection import CollectedFrame
from tfedge.edge.collection_store import CollectionStore, StoreLimits, feature, signature
from tfedge.edge.digests import sha256_hex
from tfedge.edge.model_file import read_model_file
from tfedge.edge.percentile import percentile
from tfedge.edge.preprocess import to_pixels
from tfedge.edge.threads import lower_thread_priority
from tfedge.errors import TfedgeError

JPEG_QUALITY = 90
LATEST_SHOWN = 6
TIMINGS_KEPT = 100_000
WRITER_NICENESS = 10


@dataclass(frozen=True)
class CollectSettings:
    """Which frames `--collect` keeps.

    Attributes:
        folder: the collect folder (tfedge.edge.collection's format).
        margin: a frame whose top-1 minus top-2 score is below this is a candidate (0: off).
        disagreement: keep frames whose label flickers away from the stable label.
        label_change: keep the frame where the stable label changes.
        audit_rate: share of the other (confident) frames kept at random (0: off).
        limits: rate limits, quota, near-duplicates and the storage cap.
        seed: seed of the audit's random choice (None: a different one each run).
        queue_size: candidates waiting for the writer before more are dropped.
    """

    folder: Path
    margin: float = 0.2
    disagreement: bool = True
    label_change: bool = True
    audit_rate: float = 0.001
    limits: StoreLimits = field(default_factory=StoreLimits)
    seed: int | None = None
    queue_size: int = 16

    def __post_init__(self) -> None:
        if not 0 <= self.margin <= 1:
            raise ValueError(f"--collect-margin {self.margin} must be between 0 and 1")
        if not 0 <= self.audit_rate <= 1:
            raise ValueError(f"--collect-audit-rate {self.audit_rate} must be between 0 and 1")


def _margin(result: dict) -> float | None:
    if result.get("margin") is not None:
        return result["margin"]
    scores = [score for _, score in result.get("top_k", [])]
    return scores[0] - scores[1] if len(scores) >= 2 else None


def model_view(frame: np.ndarray, card: ModelCard) -> np.ndarray:
    """The frame as the model saw it (its input size and colour), as a BGR or gray image."""
    pixels = to_pixels(frame, card)
    if pixels.shape[2] == 1:
        return pixels[..., 0]
    return cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR) if card.color_order == "RGB" else pixels


def _jpeg(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("OpenCV could not encode the frame as JPEG")
    return data.tobytes()


class BestFirstQueue:
    """Candidates waiting for the writer (at most `size`), most informative out first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: list[tuple[float, int, object]] = []  # (informativeness, arrival, candidate)
        self.arrivals = 0
        self.weakest = -1.0  # while full: the least informativeness waiting (a lower bound otherwise)
        self.condition = threading.Condition()
        self.closed = False

    def offer(self, informativeness: float, candidate) -> bool:
        """Add a candidate; False when one was dropped (this one, or a less informative one)."""
        with self.condition:
            self.arrivals += 1
            if len(self.items) < self.size:
                self.items.append((informativeness, self.arrivals, candidate))
                self.condition.notify()
                return True
            if informativeness <= self.weakest:  # the common case when full: no scan
                return False
            weakest = min(range(len(self.items)), key=lambda i: self.items[i][:2])
            self.items[weakest] = (informativeness, self.arrivals, candidate)
            self.weakest = min(item[0] for item in self.items)
            return False

    def take(self):
        """The most informative waiting candidate (the oldest among equals); None once closed
        and empty."""
        with self.condition:
            while not self.items and not self.closed:
                self.condition.wait()
            if not self.items:
                return None
            best = max(range(len(self.items)), key=lambda i: (self.items[i][0], -self.items[i][1]))
            taken = self.items.pop(best)[2]
            self.weakest = -1.0  # no longer full
            return taken

    def close(self) -> None:
        with self.condition:
            self.closed = True
            self.condition.notify_all()


class CollectSink:
    """The --collect sink (see the module docstring)."""

    stop_requested = False  # read by the pipeline after every frame: a plain attribute is cheapest

    def __init__(self, settings: CollectSettings, card: ModelCard, log=None) -> None:
        self.settings = settings
        self.card = card
        self.log = log or (lambda message: print(message, file=sys.stderr, flush=True))
        self.store = CollectionStore(settings.folder, settings.limits)
        self.random = random.Random(settings.seed)
        self.queue = BestFirstQueue(settings.queue_size)
        self.pending: tuple[dict, np.ndarray, tuple] | None = None
        self.candidates = 0
        self.skipped = 0  # candidates the store would surely refuse (rate, quota, count, cap)
        self.dropped = 0
        # the latest TIMINGS_KEPT times (a long run must not grow without bound)
        self.emit_ms: deque[float] = deque(maxlen=TIMINGS_KEPT)
        self.write_ms: deque[float] = deque(maxlen=TIMINGS_KEPT)  # the writer's time per candidate
        self.emit_total_ms = 0.0  # all emits, on the run's result thread
        self.writer_cpu_ms = 0.0  # the writer thread's own CPU time, all of it
        self.stopped: str | None = None
        self.model_sha256 = ""
        self.labels: list[str] = list(card.labels)
        self.model_path: str | None = None
        self.first_sha256 = ""
        self.cards: dict[str, ModelCard] = {}  # sha256 -> card, for the model's view after a swap
        self.latest: deque[tuple[str, bytes]] = deque(maxlen=LATEST_SHOWN)
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self._write_loop, name="tfedge-collect", daemon=True)
        self._started = False

    def start(self, info: dict) -> None:
        model = self.model_path = info.get("model")
        # the run hashed the model it loaded (HotSwap); reading the path again could meet a newer file
        self.model_sha256 = info.get("model_sha256", "")
        if model and not self.model_sha256:
            try:
                self.model_sha256 = sha256_hex(Path(model).read_bytes())
            except OSError:
                self.model_sha256 = ""
        self.first_sha256 = self.model_sha256
        self.labels = list(info.get("labels") or self.labels)
        try:
            problems = self.store.open()
        except OSError as error:
            self._stop(f"{self.settings.folder} cannot be written ({error.strerror or error})")
            return
        for problem in problems:
            self.log(f"tfedge run: collect: skipping {problem}")
        self._thread.start()
        self._started = True

    def emit(self, result: dict, frame: np.ndarray) -> None:
        began = time.perf_counter()
        event = result.get("event") or {}
        if event.get("type") == "model_change":  # frames from here on are the new model's
            self.model_sha256, self.labels = event["sha256"], list(event["labels"])
            self.pending = None
        if self.stopped is None:
            for candidate in self._candidates(result, frame):
                self.candidates += 1
                held = candidate[0]
                margin = _margin(held)
                informativeness = 0.0 if margin is None else 1.0 - margin
                if not self.store.could_keep(held["label"], informativeness, held["timestamp"]):
                    self.skipped += 1
                    continue
                if candidate[2] == "audit" and self.settings.limits.audit_share:
                    informativeness = 1.0  # rare by their rate: not crowded out of the queue
                if not self.queue.offer(informativeness, candidate):
                    self.dropped += 1
        spent = (time.perf_counter() - began) * 1000.0
        self.emit_ms.append(spent)
        self.emit_total_ms += spent

    def _candidates(self, result: dict, frame: np.ndarray) -> list[tuple[dict, np.ndarray, str, tuple]]:
        """(result, frame, reason, (model sha256, labels)) for each frame to offer the store."""
        settings, found, model = self.settings, [], (self.model_sha256, self.labels)
        stable = result.get("stable_label")
        if self.pending is not None:
            held, held_frame, held_model = self.pending
            self.pending = None
            if stable == held["stable_label"]:
                found.append((held, held_frame, "disagreement", held_model))
        margin = _margin(result)
        event = result.get("event")
        if (settings.label_change and event and event.get("type") == "label_change"
                and event.get("previous") is not None):
            found.append((result, frame, "label_change", model))
        elif settings.margin and margin is not None and margin < settings.margin:
            found.append((result, frame, "low_margin", model))
        elif settings.disagreement and stable is not None and result.get("label") != stable:
            self.pending = (result, frame, model)
        elif settings.audit_rate and self.random.random() < settings.audit_rate:
            found.append((result, frame, "audit", model))
        return found

    def _write_loop(self) -> None:
        lower_thread_priority(WRITER_NICENESS)  # this thread alone yields to capture and inference
        while True:
            item = self.queue.take()
            self.writer_cpu_ms = time.thread_time() * 1000.0
            if item is None:
                return
            if self.stopped is not None:
                continue
            began = time.perf_counter()
            try:
                self._write(*item)
                self.write_ms.append((time.perf_counter() - began) * 1000.0)
            except OSError as error:
                self._stop(f"writing to {self.settings.folder} failed ({error.strerror or error})")

    def _card_of(self, sha256: str) -> ModelCard:
        """The card of the model with this sha256: the first model's, or the swapped-in file's."""
        if sha256 not in self.cards:
            card = None
            if self.model_path and sha256 != self.first_sha256:
                try:  # the file at the model path is the one swapped in (a later swap: its own sha)
                    card = read_model_file(self.model_path).card
                except TfedgeError:
                    card = None
            self.cards[sha256] = card or self.card
        return self.cards[sha256]

    def _write(self, result: dict, frame: np.ndarray, reason: str, model: tuple) -> None:
        model_sha256, labels = model
        view = model_view(frame, self._card_of(model_sha256))
        margin = _margin(result)
        frame_id = f"{int(result['timestamp'] * 1000)}-{result['frame']}"
        collected = CollectedFrame(
            id=frame_id, timestamp=result["timestamp"], frame=result["frame"], label=result["label"],
            score=result["score"], top_k=result.get("top_k", []),
            margin=1.0 if margin is None else round(float(margin), 4),
            stable_label=result.get("stable_label"),
            model_sha256=model_sha256, labels=labels,
            reason=reason, informativeness=round(1.0 - (1.0 if margin is None else float(margin)), 4))
        encoded: list[bytes] = []

        def encode() -> tuple[bytes, bytes]:
            encoded[:] = [_jpeg(frame), _jpeg(view)]
            return encoded[0], encoded[1]

        spread = feature(view) if self.settings.limits.spread else None
        if self.store.offer(collected, signature(view), encode, spread) == "kept":
            with self.lock:
                self.latest.append((frame_id, encoded[1]))

    def _stop(self, why: str) -> None:
        if self.stopped is None:
            self.stopped = why
            self.log(f"tfedge run: collection stopped: {why}; classifying goes on")

    def status(self) -> dict:
        """For the live web page: how many frames are kept and the ids of the latest few."""
        with self.lock:
            latest = [frame_id for frame_id, _ in self.latest][::-1]
        return {"count": len(self.store.kept), "latest": latest, "stopped": self.stopped}

    def thumbnail(self, frame_id: str) -> bytes | None:
        """The model's view (JPEG) of one of the latest kept frames."""
        with self.lock:
            return next((data for known, data in self.latest if known == frame_id), None)

    def facts(self) -> dict:
        self.close_writer()
        times, writes = np.asarray(self.emit_ms or [0.0]), np.asarray(self.write_ms or [0.0])
        return {"collect": {
            "folder": str(self.settings.folder), "candidates": self.candidates,
            "skipped_early": self.skipped, "queue_dropped": self.dropped, "stopped": self.stopped,
            "emit_p50_ms": round(percentile(times, 50), 4),
            "emit_p95_ms": round(percentile(times, 95), 4),
            "emit_mean_ms": round(float(times.mean()), 4),
            "emit_total_ms": round(self.emit_total_ms, 3), "writer_cpu_ms": round(self.writer_cpu_ms, 3),
            "write_p50_ms": round(percentile(writes, 50), 4),
            **self.store.facts()}}

    def close_writer(self) -> None:
        """Let the writer finish the queue, then stop it."""
        if self._started:
            self.queue.close()
            self._thread.join()
            self._started = False

    def close(self, summary: dict) -> None:
        self.close_writer()
