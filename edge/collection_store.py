"""Which candidate frames stay in the collect folder: rate limits, quotas, near-duplicates, the cap.

`CollectionStore.offer` takes one candidate (its sidecar, its image signature and a function
that encodes both JPEGs, called only when needed) and either writes it (JPEGs first, sidecar
last, each atomically) or says why not. When a class quota, the frame count or the storage cap
is reached, the least informative kept frame (the oldest among equals) makes room, but only for
a more informative one.

Near-duplicates: the signature is a 64-bit difference hash (dHash) of the model's view, gray
and shrunk to 9x8; two frames whose hashes differ in at most `duplicate_bits` bits are
near-duplicates, and a candidate that near-duplicates a kept frame is not kept.

Spread (`StoreLimits.spread`, `--collect-spread`): when a quota, the frame count or the cap
forces a choice, the frame that goes is the most redundant one instead of the least informative:
the kept frame nearest another kept frame (the less informative of that pair), and only when the
candidate is farther from every remaining kept frame than that (greedy k-center, so the kept
frames cover the candidates seen, not one confusing corner of them). Distance is between
`feature`s: the model's view, gray, shrunk to 8x8, less its mean, scaled to length 1 (so a
brightness or contrast change of the whole view does not make frames look apart).

Audit share (`StoreLimits.audit_share`, `--collect-audit-share`): audit frames (confident frames
drawn at random) are kept apart from the others, up to that share of each pool a limit applies
to (a class at its quota, or all frames at the count or cap). Among themselves they are a
uniform random sample of the audit frames seen (each has a fixed pseudo-random key from its id;
the lowest goes); a frame of the other kind makes room from whichever kind is over its share.
So confident mistakes, which no margin finds (a shifted camera), keep a place in the folder.
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
from tfedge.edge.digests import blake2b
from tfedge.fileio import write_bytes_atomic

DEFAULT_DUPLICATE_BITS = 4
OUTCOMES = ("kept", "duplicate", "rate_limited", "quota", "full")
FEATURE_SIDE = 8


@dataclass(frozen=True)
class StoreLimits:
    """What the collect folder may hold and how fast it may grow.

    Attributes:
        per_minute, per_hour: most frames written in any 60 s / 3600 s of frame time (0: no limit).
        class_quota: most frames kept per predicted label (0: no quota).
        max_frames: most frames kept in all (0: no limit besides max_mb).
        max_mb: the folder's frames never take more than this many megabytes (10^6 bytes).
        duplicate_bits: dHash bits two frames may differ in and still be near-duplicates (-1: off).
        spread: at a quota, count or cap, the most redundant frame goes, not the least
            informative (see the module docstring).
        audit_share: share (0..1) of each full pool kept for audit frames (0: audit frames
            compete by informativeness, so they go first).
    """

    per_minute: int = 10
    per_hour: int = 200
    class_quota: int = 50
    max_frames: int = 0
    max_mb: float = 200.0
    duplicate_bits: int = DEFAULT_DUPLICATE_BITS
    spread: bool = False
    audit_share: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.audit_share <= 1:
            raise ValueError(f"--collect-audit-share {self.audit_share} must be between 0 and 1")
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


def feature(image: np.ndarray) -> np.ndarray:
    """The spread's feature: gray, 8x8, less its mean, length 1 (all zeros for a flat image)."""
    gray = image if image.ndim == 2 else (image[..., 0] if image.shape[2] == 1
                                          else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    small = cv2.resize(gray, (FEATURE_SIDE, FEATURE_SIDE), interpolation=cv2.INTER_AREA)
    vector = small.astype(np.float32).ravel()
    vector -= vector.mean()
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 1e-6 else vector


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
    feature: np.ndarray | None = None
    audit: bool = False

    def rank(self) -> tuple[float, float]:
        """Lower goes first: least informative, then oldest (audit frames: by `audit_key`)."""
        return (audit_key(self.id), 0.0) if self.audit else (self.informativeness, self.timestamp)


def audit_key(frame_id: str) -> float:
    """A fixed pseudo-random number in [0, 1) for a frame id: the audit sample's order."""
    return int.from_bytes(blake2b(frame_id.encode(), 8), "big") / 2**64


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
        # Read by the run's result thread to skip hopeless candidates before they are queued
        # (plain floats and a dict replaced whole, so reads need no lock):
        self.floor = -1.0  # a candidate must be at least this informative to be kept now
        self.class_floor: dict[str, float] = {}  # the same per predicted label at its quota
        self.rate_open_at = 0.0  # frame time before which the rate limits refuse every frame
        self.spread = Spread() if limits.spread else None

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
            self._add(Kept(frame.id, frame.label, frame.informativeness, frame.timestamp,
                           size, signature(view), feature(view), frame.reason == "audit"))
        self.peak_bytes = self.bytes
        self._update_gates(0)
        return problems

    def offer(self, frame: CollectedFrame, image_signature: int,
              encode: Callable[[], tuple[bytes, bytes]], image_feature: np.ndarray | None = None) -> str:
        """Keep `frame` if the limits allow; returns one of OUTCOMES. OSError when a write fails.

        `encode()` gives (full frame JPEG, model's view JPEG); it is called only for a frame that
        is neither a near-duplicate nor over the rate limits. `image_feature`: the view's
        `feature`, needed with `spread`.
        """
        if self._duplicate(image_signature):
            return self._count("duplicate")
        if self._rate_limited(frame.timestamp):
            return self._count("rate_limited")
        full_jpeg, view_jpeg = encode()
        sidecar = frame.to_json().encode("utf-8")
        item = Kept(frame.id, frame.label, frame.informativeness, frame.timestamp,
                    len(full_jpeg) + len(view_jpeg) + len(sidecar), image_signature, image_feature,
                    frame.reason == "audit")
        outcome = self._make_room(item)
        if outcome == "kept":
            write_bytes_atomic(view_path(self.folder, frame.id), view_jpeg)
            write_bytes_atomic(frame_path(self.folder, frame.id), full_jpeg)
            write_bytes_atomic(sidecar_path(self.folder, frame.id), sidecar)
            self._add(item)
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

    def _add(self, item: Kept) -> None:
        self.kept[item.id] = item
        if self.spread is not None:
            self.spread.add(item.id, item.feature)

    def _weakest(self, pool: list[Kept], item: Kept) -> Kept | None:
        """The kept frame of `pool` that makes way for `item`, or None when `item` does not earn it."""
        if self.limits.audit_share:
            audits = [kept for kept in pool if kept.audit]
            others = [kept for kept in pool if not kept.audit]
            over = len(audits) + item.audit > self.limits.audit_share * len(pool)
            group = audits if (over and audits) or not others else others
            if item.audit != (group is audits):  # the other kind is over its share: it gives way
                return min(group, key=Kept.rank)
            pool = group
        if not pool:
            return None
        if item.audit:
            weakest = min(pool, key=Kept.rank)
            return weakest if weakest.rank() < item.rank() else None
        if self.spread is not None and item.feature is not None:
            return self.spread.weakest(pool, item)
        weakest = min(pool, key=Kept.rank)
        return weakest if weakest.rank() < item.rank() else None

    def _make_room(self, item: Kept) -> str:
        """Evict for a candidate that earns its place under the quota, count and cap."""
        limits = self.limits
        victims: list[Kept] = []
        same_class = [kept for kept in self.kept.values() if kept.label == item.label]
        if limits.class_quota and len(same_class) >= limits.class_quota:
            weakest = self._weakest(same_class, item)
            if weakest is None:
                return "quota"
            victims.append(weakest)
        remaining = [kept for kept in self.kept.values() if kept not in victims]
        count, size = len(remaining) + 1, sum(kept.size for kept in remaining) + item.size
        cap = limits.max_mb * 1e6
        while (limits.max_frames and count > limits.max_frames) or size > cap:
            weakest = self._weakest(remaining, item)
            if weakest is None:
                return "full"
            remaining.remove(weakest)
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
        # with spread or an audit share, a less informative frame may still win a place: no floor
        by_informativeness = not (limits.spread or limits.audit_share)
        self.floor = min(item.informativeness for item in kept) if full and by_informativeness else -1.0
        floors: dict[str, float] = {}
        if limits.class_quota and by_informativeness:
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
        if self.spread is not None:
            self.spread.remove(frame_id)
        self.evicted += 1

    def facts(self) -> dict:
        labels = Counter(item.label for item in self.kept.values())
        return {"kept": len(self.kept), "bytes": self.bytes, "peak_bytes": self.peak_bytes,
                "evicted": self.evicted, "per_class": dict(sorted(labels.items())),
                "offered": {outcome: self.outcomes[outcome] for outcome in OUTCOMES}}



class Spread:
    """Distances between the kept frames' features, kept up to date as frames come and go."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.index: dict[str, int] = {}
        self.features = np.zeros((0, FEATURE_SIDE * FEATURE_SIDE), np.float32)
        self.distances = np.zeros((0, 0), np.float32)  # pairwise; inf on the diagonal

    def add(self, frame_id: str, vector: np.ndarray | None) -> None:
        vector = np.zeros(self.features.shape[1], np.float32) if vector is None else vector
        to_new = np.linalg.norm(self.features - vector, axis=1)
        n = len(self.ids)
        grown = np.full((n + 1, n + 1), np.inf, np.float32)
        grown[:n, :n], grown[n, :n], grown[:n, n] = self.distances, to_new, to_new
        self.distances, self.features = grown, np.vstack([self.features, vector[None]])
        self.index[frame_id] = n
        self.ids.append(frame_id)

    def remove(self, frame_id: str) -> None:
        at = self.index.pop(frame_id, None)
        if at is None:
            return
        self.ids.pop(at)
        self.index = {known: i for i, known in enumerate(self.ids)}
        self.features = np.delete(self.features, at, axis=0)
        self.distances = np.delete(np.delete(self.distances, at, axis=0), at, axis=1)

    def weakest(self, pool: list[Kept], item: Kept) -> Kept | None:
        """The most redundant frame of `pool` (nearest another one of it; of that pair the less
        informative), if `item` would be farther from the rest of `pool` than it is."""
        at = np.array([self.index[kept.id] for kept in pool])
        if len(at) < 2:
            return None
        among = self.distances[np.ix_(at, at)]
        nearest = among.min(axis=1)
        first = int(np.argmin(nearest))
        second = int(np.argmin(among[first]))
        victim = min(first, second, key=lambda i: pool[i].rank())
        others = np.delete(at, victim)
        candidate = float(np.linalg.norm(self.features[others] - item.feature, axis=1).min())
        return pool[victim] if candidate > nearest[victim] else None
