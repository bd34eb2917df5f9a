"""The image folder: scan and validate it, split it, and load its pixels the device's way.

Layouts: DATA_DIR/<class>/*.jpg (a stratified validation split is held out), or
DATA_DIR/train/<class>/ with DATA_DIR/val/<class>/ (used as given). Labels are the sorted
class-folder names. Pixels come from `tfedge.edge.preprocess`, the device's own code.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tfedge.edge.labelled import list_classes
from tfedge.edge.preprocess import decode_image
from tfedge.errors import DataError


@dataclass
class Split:
    """Labelled image paths of one run: labels, train and validation items."""

    root: Path
    labels: list[str]
    train: list[tuple[Path, int]]
    val: list[tuple[Path, int]]
    skipped: list[dict] = field(default_factory=list)

    def fingerprint(self) -> str:
        """A hash of every file name and size, to recognise the same dataset later."""
        digest = hashlib.sha256()
        for path, label in sorted(self.train + self.val):
            digest.update(f"{path.relative_to(self.root)}|{label}|{path.stat().st_size}\n".encode())
        return digest.hexdigest()[:16]


def scan(data_dir: str | Path, val_split: float = 0.2, seed: int = 42) -> Split:
    """Find classes and images and make the train/validation split."""
    root = Path(data_dir)
    if root.is_dir() and (root / "train").is_dir() and (root / "val").is_dir():
        train_classes, val_classes = list_classes(root / "train"), list_classes(root / "val")
        if sorted(train_classes) != sorted(val_classes):
            raise DataError(f"{root}: train/ and val/ have different class folders; make them match")
        labels = sorted(train_classes)
        train = [(p, labels.index(c)) for c in labels for p in train_classes[c]]
        val = [(p, labels.index(c)) for c in labels for p in val_classes[c]]
        return Split(root, labels, train, val)
    classes = list_classes(root)
    if not 0 < val_split < 1:
        raise DataError(f"validation split {val_split} must be between 0 and 1")
    labels = sorted(classes)
    rng = np.random.default_rng(seed)
    train, val = [], []
    for index, name in enumerate(labels):
        paths = classes[name]
        if len(paths) < 2:
            raise DataError(f"{root}: class {name!r} has {len(paths)} image; each class needs at "
                            "least 2 (one to train, one to validate)")
        order = rng.permutation(len(paths))
        n_val = min(len(paths) - 1, max(1, round(len(paths) * val_split)))
        val += [(paths[i], index) for i in order[:n_val]]
        train += [(paths[i], index) for i in order[n_val:]]
    return Split(root, labels, train, val)


def all_gray(items: list[tuple[Path, int]], sample: int = 200, seed: int = 0) -> bool:
    """True when a sample of the images has identical colour channels (a grayscale dataset)."""
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(items), size=min(sample, len(items)), replace=False)
    for i in chosen:
        try:
            frame = decode_image(items[i][0])
        except ValueError:
            continue
        if not (np.array_equal(frame[..., 0], frame[..., 1])
                and np.array_equal(frame[..., 1], frame[..., 2])):
            return False
    return True
