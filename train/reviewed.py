"""`tfedge train --add REVIEWED`: reviewed frames (REVIEWED/<class>/*.jpg) join the training data.

The original data is split exactly as before (same folder, seed and validation share), so the
validation set is the previous run's; the reviewed images go to training, except a held-out
share (`val_split`) kept aside to compare the previous and the new model on. A class found
only in REVIEWED becomes a new class of the new model.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tfedge.edge.card import ModelCard
from tfedge.edge.labelled import image_files, load_pixels
from tfedge.edge.preprocess import IMAGE_SUFFIXES
from tfedge.errors import DataError, UsageError

FORMAT_HINT = "REVIEWED/<class>/*.jpg, the training format (what `tfedge review` writes)"


@dataclass(frozen=True)
class AddedData:
    """Reviewed frames to train with.

    Attributes:
        folder: REVIEWED, one subfolder of images per class.
        weight: each reviewed image's weight in the loss, relative to an original image (1.0).
        val_split: share of each reviewed class (with 2 or more images) held out to compare the
            models on; 0 trains on all of them (the comparison then uses frames trained on).
    """

    folder: Path
    weight: float = 1.0
    val_split: float = 0.2

    def __post_init__(self) -> None:
        if not self.weight > 0:
            raise UsageError(f"--add-weight {self.weight} must be above 0")
        if not 0 <= self.val_split < 1:
            raise UsageError(f"--add-val-split {self.val_split} must be 0 or more and below 1")

    def to_config(self) -> dict:
        return {"folder": str(Path(self.folder).resolve()), "weight": self.weight,
                "val_split": self.val_split}


@dataclass
class HeldOut:
    """Reviewed images not trained on (or, with val_split 0, all of them), for the comparison."""

    x: np.ndarray
    y: np.ndarray
    trained_on: bool


def list_reviewed(folder: str | Path) -> dict[str, list[Path]]:
    """{class: image paths} of a reviewed folder; DataError when it is not in the training format."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"--add {folder}: no such folder; give {FORMAT_HINT}")
    loose = [p.name for p in folder.iterdir()
             if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")]
    if loose:
        raise DataError(f"--add {folder}: images directly in the folder ({loose[0]}); it must be "
                        f"{FORMAT_HINT}")
    classes = {p.name: image_files(p) for p in sorted(folder.iterdir())
               if p.is_dir() and not p.name.startswith(".")}
    classes = {name: paths for name, paths in classes.items() if paths}
    if not classes:
        raise DataError(f"--add {folder}: no class folder holds images; it must be {FORMAT_HINT}")
    return classes


def merged_labels(labels: list[str], reviewed: dict[str, list[Path]]) -> tuple[list[str], list[str]]:
    """(the new model's labels, the classes REVIEWED adds): sorted, as a class folder's are."""
    added = sorted(set(reviewed) - set(labels))
    return sorted(set(labels) | set(reviewed)), added


def add_reviewed(split, reviewed: dict[str, list[Path]], labels: list[str], card: ModelCard,
                 added: AddedData, seed: int):
    """The split with the reviewed images in training (weighted), and the HeldOut set."""
    remap = np.asarray([labels.index(name) for name in split.labels], dtype=np.int32)
    items = [(path, labels.index(name)) for name, paths in reviewed.items() for path in paths]
    pixels, y, skipped = load_pixels(items, card)
    bad = {s["path"] for s in skipped}
    items = [item for item in items if str(item[0]) not in bad]
    rng = np.random.default_rng(seed)
    held = np.zeros(len(y), dtype=bool)
    if added.val_split > 0:
        for index in np.unique(y):
            members = np.flatnonzero(y == index)
            if len(members) >= 2:
                count = min(len(members) - 1, max(1, round(len(members) * added.val_split)))
                held[rng.permutation(members)[:count]] = True
    train = ~held
    weights = np.concatenate([np.ones(len(split.y_train), np.float32),
                              np.full(int(train.sum()), added.weight, np.float32)])
    merged = replace(
        split, labels=list(labels),
        train=split.train + [item for item, keep in zip(items, train) if keep],
        x_train=np.concatenate([split.x_train, pixels[train]]),
        y_train=np.concatenate([remap[split.y_train], y[train]]).astype(np.int32),
        y_val=remap[split.y_val].astype(np.int32), skipped=split.skipped + skipped,
        sample_weight=weights, original_train=len(split.y_train))
    if held.any():
        return merged, HeldOut(pixels[held], y[held], trained_on=False)
    return merged, HeldOut(pixels, y, trained_on=True)
