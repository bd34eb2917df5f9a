"""Which candidate frames stay in the collect folder: rate limits, quotas, near-duplicates, the cap.

`CollectionStore.offer` takes one candidate (its sidecar, its image signature and a function
that encodes both JPEGs, called only when needed) and either writes it (JPEGs first, sidecar
last, each atomically) or says why not. When a class quota, the frame count or the storage cap
is reached, the least informative kept frame (the oldest among equals) makes room, but only for
a more informative one.

Near-duplicates: the signature is a 64-bit difference hash (dHash) of the model's view, gray
and shrunk to 9x8; two frames whose hashes differ in at most `duplicate_bits` bits are
near-duplicates, and a candidate that near-duplicates a kept frame is not kept.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from tfedge.edge.collection import (
    CollectedFrame,
    frame_files,
    frame_path,
    read_collection,
    sidecar_path,
    view_path,
)
from tfedge.fileio import write_bytes_atomic

DEFAULT_DUPLICATE_BITS = 4
OUTCOMES = ("kept", "duplicate", "rate_limited", "quota", "full")


@dataclass(frozen=True)
class StoreLimits:
    """What the collect folder may hold and how fast it may grow.

    Attributes:
        per_minute, per_hour: most frames written in any 60 s / 3600 s of frame time (0: no limit).
        class_quota: most frames kept per predicted label (0: no quota).
        max_frames: most frames kept in all (0: no limit besides max_mb).
        max_mb: the folder's frames never take more than this many megabytes (10^6 bytes).
        duplicate_bits: dHash bits two frames may differ in and still be near-duplicates (-1: off).
    """

    per_minute: int = 10
    per_hour: int = 200
    class_quota: int = 50
    max_frames: int = 0
    max_mb: float = 200.0
    duplicate_bits: int = DEFAULT_DUPLICATE_BITS

    def __post_init__(self) -> None:
        for name in ("per_minute", "per_hour", "class_quota", "max_frames"):
            if getattr(self, name) < 0:
                raise ValueError(f"collect {name.replace('_', '-')} {getattr(self, name)} must be 0 "
                                 "(no limit) or more")
        if not self.max_mb > 0:
            raise ValueError(f"collect storage cap {self.max_mb} MB must be above 0")
        if not -1 <= self.duplicate_bits <= 64:
            raise ValueError(f"collect duplicate bits {self.duplicate_bits} must be -1 (off) to 64")


def signature(image: np.ndarray) -> int:
    """64-bit dHash: gray, shrunk to 9x8, one bit per pixel brighter than its right neighbour."""
    gray = image if image.ndim == 2 else (image[..., 0] if image.shape[2] == 1
                                          else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    small = cv2.resize(gray, (9, 8), interpolation=cv2.INTER_AREA).astype(np.int16)
    bits = (small[:, 1:] > small[:, :-1]).ravel()
    return int(np.packbits(bits).view(">u8")[0])


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


@dataclass
class Kept:
    """What the store remembers of one kept frame."""

    id: str
    label: str
    informativeness: float
    timestamp: float
    size: int
    signature: int

    def rank(self) -> tuple[float, float]:
        """Lower goes first: least informative, then oldest."""
        return (self.informativeness, self.timestamp)


class CollectionStore:
    """The collect folder and its limits. Not thread-safe: one writer thread owns it."""

    def __init__(self, folder: str | Path, limits: StoreLimits = StoreLimits()) -> None:
        self.folder = Path(folder)
        self.limits = limits
        self.kept: dict[str, Kept] = {}
        self.written: deque[float] = deque()
        self.outcomes: Counter = Counter()
        self.evicted = 0
        self.peak_bytes = 0
        # Read by the inference thread to skip hopeless candidates before they are queued
        # (plain floats and a dict replaced whole, so reads need no lock):
        self.floor = -1.0  # a candidate must be at least this informative to be kept now
        self.class_floor: dict[str, float] = {}  # the same per predicted label at its quota
        self.rate_open_at = 0.0  # frame time before which the rate limits refuse every frame

    @property
    def bytes(self) -> int:
        return sum(item.size for item in self.kept.values())

    def open(self) -> list[str]:
        """Create the folder, check it takes files, and take in what it already holds.

        Returns the problems `read_collection` found. Raises OSError when it is not writable.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(self.folder / ".tfedge-write-check", b"")
        (self.folder / ".tfedge-write-check").unlink()
        frames, problems = read_collection(self.folder)
        for frame in frames:
            view = cv2.imread(str(view_path(self.folder, frame.id)), cv2.IMREAD_GRAYSCALE)
            if view is None:
                problems.append(f"{frame.id}.view.jpg: not a readable JPEG")
                continue
            size = sum(p.stat().st_size for p in frame_files(self.folder, frame.id))
            self.kept[frame.id] = Kept(frame.id, frame.label, frame.informativeness, frame.timestamp,
                                       size, signature(view))
        self.peak_bytes = self.bytes
        self._update_gates(0)
        return problems

    def offer(self, frame: CollectedFrame, image_signature: int,
              encode: Callable[[], tuple[bytes, bytes]]) -> str:
        """Keep `frame` if the limits allow; returns one of OUTCOMES. OSError when a write fails.

        `encode()` gives (full frame JPEG, model's view JPEG); it is called only for a frame that
        is neither a near-duplicate nor over the rate limits.
        """
        if self._duplicate(image_signature):
            return self._count("duplicate")
        if self._rate_limited(frame.timestamp):
            return self._count("rate_limited")
        full_jpeg, view_jpeg = encode()
        sidecar = frame.to_json().encode("utf-8")
        item = Kept(frame.id, frame.label, frame.informativeness, frame.timestamp,
                    len(full_jpeg) + len(view_jpeg) + len(sidecar), image_signature)
        outcome = self._make_room(item)
        if outcome == "kept":
            write_bytes_atomic(view_path(self.folder, frame.id), view_jpeg)
            write_bytes_atomic(frame_path(self.folder, frame.id), full_jpeg)
            write_bytes_atomic(sidecar_path(self.folder, frame.id), sidecar)
            self.kept[item.id] = item
            self.written.append(item.timestamp)
            self.peak_bytes = max(self.peak_bytes, self.bytes)
            self._update_gates(item.size)
        return self._count(outcome)

    def _count(self, outcome: str) -> str:
        self.outcomes[outcome] += 1
        return outcome

    def _duplicate(self, image_signature: int) -> bool:
        bits = self.limits.duplicate_bits
        return bits >= 0 and any(hamming(image_signature, kept.signature) <= bits
                                 for kept in self.kept.values())

    def _make_room(self, item: Kept) -> str:
        """Evict for a candidate that earns its place under the quota, count and cap."""
        limits = self.limits
        victims: list[Kept] = []
        same_class = [kept for kept in self.kept.values() if kept.label == item.label]
        if limits.class_quota and len(same_class) >= limits.class_quota:
            weakest = min(same_class, key=Kept.rank)
            if weakest.rank() >= item.rank():
                return "quota"
            victims.append(weakest)
        remaining = sorted((kept for kept in self.kept.values() if kept not in victims), key=Kept.rank)
        count, size = len(remaining) + 1, sum(kept.size for kept in remaining) + item.size
        cap = limits.max_mb * 1e6
        while (limits.max_frames and count > limits.max_frames) or size > cap:
            if not remaining or remaining[0].rank() >= item.rank():
                return "full"
            weakest = remaining.pop(0)
            victims.append(weakest)
            count, size = count - 1, size - weakest.size
        for victim in victims:
            self.remove(victim.id)
        return "kept"

    def could_keep(self, label: str, informativeness: float, timestamp: float) -> bool:
        """False when a frame would surely be refused (rate, quota, count or cap): cheap."""
        return (timestamp >= self.rate_open_at and informativeness >= self.floor
                and informativeness >= self.class_floor.get(label, -1.0))

    def _update_gates(self, last_size: int) -> None:
        """Recompute what `could_keep` reads, after the kept frames changed."""
        limits, kept = self.limits, list(self.kept.values())
        full = bool(kept) and ((limits.max_frames and len(kept) >= limits.max_frames)
                               or self.bytes + last_size > limits.max_mb * 1e6)
        self.floor = min(item.informativeness for item in kept) if full else -1.0
        floors: dict[str, float] = {}
        if limits.class_quota:
            by_class: dict[str, list[float]] = {}
            for item in kept:
                by_class.setdefault(item.label, []).append(item.informativeness)
            floors = {label: min(values) for label, values in by_class.items()
                      if len(values) >= limits.class_quota}
        self.class_floor = floors
        written = list(self.written)
        opens = [0.0]
        if limits.per_minute and len(written) >= limits.per_minute:
            opens.append(written[-limits.per_minute] + 60)
        if limits.per_hour and len(written) >= limits.per_hour:
            opens.append(written[-limits.per_hour] + 3600)
        self.rate_open_at = max(opens)

    def _rate_limited(self, now: float) -> bool:
        while self.written and self.written[0] < now - 3600:
            self.written.popleft()
        last_minute = sum(1 for t in self.written if t >= now - 60)
        return bool((self.limits.per_minute and last_minute >= self.limits.per_minute)
                    or (self.limits.per_hour and len(self.written) >= self.limits.per_hour))

    def remove(self, frame_id: str) -> None:
        """Delete one kept frame: sidecar first, so no sidecar ever names a missing JPEG."""
        for path in reversed(frame_files(self.folder, frame_id)):
            path.unlink(missing_ok=True)
        self.kept.pop(frame_id, None)
        self.evicted += 1

    def facts(self) -> dict:
        labels = Counter(item.label for item in self.kept.values())
        return {"kept": len(self.kept), "bytes": self.bytes, "peak_bytes": self.peak_bytes,
                "evicted": self.evicted, "per_class": dict(sorted(labels.items())),
                "offered": {outcome: self.outcomes[outcome] for outcome in OUTCOMES}}

