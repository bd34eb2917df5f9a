"""Labelled image folders (one subfolder per class): listing, validating, loading pixels.

Used by training, calibration and `tfedge verify`, so every stage reads images the way the
device does (`tfedge.edge.preprocess`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tfedge.edge.card import ModelCard
from tfedge.edge.preprocess import IMAGE_SUFFIXES, decode_image, model_size, to_pixels
from tfedge.errors import DataError


def _class_folders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def image_files(folder: Path) -> list[Path]:
    """The image files under `folder` (recursively, sorted), dotfiles left out.

    How every folder of images is listed: class folders here and `--source FOLDER`.
    """
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )


def list_classes(folder: Path) -> dict[str, list[Path]]:
    """{class name: image paths} of a folder with one subfolder per class, validated."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such data folder; give a folder with one subfolder per class")
    classes = {p.name: image_files(p) for p in _class_folders(folder)}
    if not classes:
        raise DataError(f"{folder}: no class folders; put images in {folder}/<class name>/")
    empty = [name for name, paths in classes.items() if not paths]
    if empty:
        raise DataError(
            f"{folder}: class folder {empty[0]!r} has no images ({', '.join(IMAGE_SUFFIXES)}); "
            "add images or remove the folder"
        )
    if len(classes) < 2:
        raise DataError(f"{folder}: only one class ({next(iter(classes))}); a classifier needs at "
                        "least two class folders")
    return classes


def labelled_items(data_dir: str | Path, labels: list[str]) -> list[tuple[Path, int]]:
    """(image path, label index) for every image of a class folder; folders must be labels."""
    classes = list_classes(Path(data_dir))
    unknown = [name for name in classes if name not in labels]
    if unknown:
        shown = ", ".join(labels[:12]) + (", ..." if len(labels) > 12 else "")
        raise DataError(f"{data_dir}: class folder(s) {', '.join(unknown)} are not among the model's "
                        f"labels ({shown}); name each class folder as one of the labels")
    return [(path, labels.index(name)) for name, paths in classes.items() for path in paths]


def _load_one(path: Path, card: ModelCard):
    try:
        return to_pixels(decode_image(path, model_size(card)), card), None
    except ValueError as error:
        return None, str(error)


def load_pixels(items: list[tuple[Path, int]], card: ModelCard, workers: int = 4):
    """Decode and preprocess images exactly as the device does (large JPEGs decoded reduced).

    Returns (pixels uint8 [N, H, W, C], labels int32 [N], skipped [{"path", "reason"}]).
    """
    from concurrent.futures import ThreadPoolExecutor  # not at import: 0.8 MB a live run never uses

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda item: _load_one(item[0], card), items))
    pixels, labels, skipped = [], [], []
    for (path, label), (image, reason) in zip(items, results):
        if image is None:
            skipped.append({"path": str(path), "reason": reason})
        else:
            pixels.append(image)
            labels.append(label)
    height, width = card.input_size
    array = np.stack(pixels) if pixels else np.zeros((0, height, width, card.channels), np.uint8)
    return array, np.asarray(labels, dtype=np.int32), skipped
