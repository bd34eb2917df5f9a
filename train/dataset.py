"""The image folder: list it, decode every file once the device's way, split it, feed tf.data.

Layouts: DATA_DIR/<class>/*.jpg (a stratified validation split is held out), or
DATA_DIR/train/<class>/ with DATA_DIR/val/<class>/ (used as given). Labels are the sorted
class-folder names. Every file is decoded exactly once, by `tfedge.edge.preprocess` (the
device's own code, which converts gray, RGBA, 16-bit and CMYK files and applies EXIF
orientation), into uint8 pixels at the model's input size; files that do not decode are
skipped with their reason before the split, so no epoch ever meets a bad file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tfedge.edge.card import ModelCard
from tfedge.edge.labelled import list_classes, load_pixels
from tfedge.edge.preprocess import decode_image
from tfedge.edge.threads import cores
from tfedge.errors import DataError

# Batches the input pipeline keeps ready ahead of the training step.
PREFETCH_BATCHES = 2


@dataclass
class Listing:
    """The image files of a data folder, before anything is decoded."""

    root: Path
    labels: list[str]
    items: list[tuple[Path, int]]
    given_val: list[tuple[Path, int]] | None = None  # DATA_DIR/val when the layout has one

    @property
    def all_items(self) -> list[tuple[Path, int]]:
        return self.items + (self.given_val or [])

    def fingerprint(self) -> str:
        """A hash of every file's relative name, class and size, to recognise the dataset later."""
        digest = hashlib.sha256()
        for path, label in sorted(self.all_items):
            digest.update(f"{path.relative_to(self.root)}|{label}|{path.stat().st_size}\n".encode())
        return digest.hexdigest()[:16]


@dataclass
class Split:
    """Decoded, validated and split data of one run: uint8 pixels as the device sees them."""

    root: Path
    labels: list[str]
    train: list[tuple[Path, int]]
    val: list[tuple[Path, int]]
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    skipped: list[dict] = field(default_factory=list)
    sample_weight: np.ndarray | None = None  # per training image (reviewed frames, `--add-weight`)
    original_train: int | None = None  # with `--add`: the first N training images are the original data

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.y_train, minlength=len(self.labels))
        return {label: int(count) for label, count in zip(self.labels, counts)}

    def imbalance(self) -> float:
        """Largest over smallest training class."""
        counts = np.bincount(self.y_train, minlength=len(self.labels))
        return float(counts.max() / max(1, counts.min()))

    def class_weights(self) -> np.ndarray:
        """N / (classes * count) per class: every class contributes equally to the loss.

        With `--add`, counted over the original data only (a class only the reviewed frames
        have: over those), so frames chosen where the model is weak are not weighed back down.
        """
        counts = np.bincount(self.y_train, minlength=len(self.labels)).astype(np.float64)
        if self.original_train is not None:
            original = np.bincount(self.y_train[:self.original_train], minlength=len(self.labels))
            counts = np.where(original > 0, original, counts)
        return (counts.sum() / (len(self.labels) * np.maximum(counts, 1))).astype(np.float32)


def list_files(data_dir: str | Path) -> Listing:
    """Find classes and image files (train/ and val/ subfolders are used as given)."""
    root = Path(data_dir)
    if root.is_dir() and (root / "train").is_dir() and (root / "val").is_dir():
        train_classes, val_classes = list_classes(root / "train"), list_classes(root / "val")
        if sorted(train_classes) != sorted(val_classes):
            raise DataError(f"{root}: train/ and val/ have different class folders; make them match")
        labels = sorted(train_classes)
        return Listing(root, labels,
                       [(p, labels.index(c)) for c in labels for p in train_classes[c]],
                       [(p, labels.index(c)) for c in labels for p in val_classes[c]])
    classes = list_classes(root)
    labels = sorted(classes)
    return Listing(root, labels, [(p, labels.index(c)) for c in labels for p in classes[c]])


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


def stratified_split(labels: np.ndarray, num_classes: int, val_split: float,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indexes of (train, val): `val_split` of each class, at least one image on each side."""
    if not 0 < val_split < 1:
        raise DataError(f"validation split {val_split} must be between 0 and 1")
    rng = np.random.default_rng(seed)
    train, val = [], []
    for index in range(num_classes):
        members = np.flatnonzero(labels == index)
        order = members[rng.permutation(len(members))]
        n_val = min(len(members) - 1, max(1, round(len(members) * val_split)))
        val.append(order[:n_val])
        train.append(order[n_val:])
    return np.concatenate(train), np.concatenate(val)


def _require_per_class(name: str, labels: np.ndarray, class_names: list[str], root: Path,
                       minimum: int) -> None:
    counts = np.bincount(labels, minlength=len(class_names))
    for index, count in enumerate(counts):
        if count < minimum:
            raise DataError(
                f"{root}: class {class_names[index]!r} has {count} readable {name}image"
                f"{'' if count == 1 else 's'} (unreadable files skipped); each class needs at least "
                f"{minimum}: add images or replace the corrupt ones")


def load_split(listing: Listing, card: ModelCard, val_split: float = 0.2, seed: int = 42,
               workers: int = 8) -> Split:
    """Decode every file once (skipping what does not decode), then split by class."""
    pixels, labels, skipped = load_pixels(listing.items, card, workers)
    kept = [item for item in listing.items if str(item[0]) not in {s["path"] for s in skipped}]
    if not len(labels):
        raise DataError(f"{listing.root}: none of the {len(listing.items)} images could be decoded "
                        f"(first: {skipped[0]['reason']}); replace the corrupt files")
    if listing.given_val is None:
        _require_per_class("", labels, listing.labels, listing.root, 2)
        train_index, val_index = stratified_split(labels, len(listing.labels), val_split, seed)
        x_val, y_val = pixels[val_index], labels[val_index]
        val_items = [kept[i] for i in val_index]
        pixels, labels, kept = pixels[train_index], labels[train_index], [kept[i] for i in train_index]
    else:
        _require_per_class("training ", labels, listing.labels, listing.root, 1)
        x_val, y_val, skipped_val = load_pixels(listing.given_val, card, workers)
        bad = {s["path"] for s in skipped_val}
        val_items = [item for item in listing.given_val if str(item[0]) not in bad]
        skipped += skipped_val
        _require_per_class("validation ", y_val, listing.labels, listing.root, 1)
    return Split(listing.root, listing.labels, kept, val_items, pixels, labels, x_val, y_val, skipped)


def augmentation(flip: str, seed: int):
    """Keras preprocessing layers for the training input pipeline (never in the exported model)."""
    import keras

    return keras.Sequential([
        keras.layers.RandomFlip(flip, seed=seed),
        keras.layers.RandomRotation(0.05, fill_mode="reflect", seed=seed + 1),
        keras.layers.RandomZoom(0.1, fill_mode="reflect", seed=seed + 2),
        keras.layers.RandomBrightness(0.1, value_range=(0, 255), seed=seed + 3),
        keras.layers.RandomContrast(0.1, seed=seed + 4),
    ], name="augmentation")


def make_dataset(pixels: np.ndarray, labels: np.ndarray, batch_size: int, training: bool,
                 seed: int = 42, class_weights: np.ndarray | None = None, augment=None,
                 sample_weight: np.ndarray | None = None):
    """A tf.data pipeline over decoded uint8 pixels: shuffled batches, float, augment, prefetch.

    The pixels are already decoded (once, in parallel) and held in memory, which is the cache.
    Batches are cut from them whole: each epoch draws a new order (seeded; the parallel map
    keeps it, so a seed gives the same batches on a busy machine too), and a batch is one
    numpy gather, so tf.data handles a batch, not each image (per-image steps cost a small
    model on a CPU more than its input needs; benchmarks/train_throughput.py). The pipeline then
    converts and augments batches in parallel and prefetches the next ones while the
    accelerator works. Training elements carry per-image weights when given: the class weight
    times the image's `sample_weight`.
    """
    import tensorflow as tf

    columns = [pixels, labels.astype(np.int32)]
    if class_weights is not None or sample_weight is not None:
        weights = np.ones(len(labels), np.float32) if class_weights is None else class_weights[labels]
        columns.append((weights if sample_weight is None else weights * sample_weight).astype(np.float32))
    order = np.random.default_rng(seed)

    def batches():
        indices = order.permutation(len(labels)) if training else np.arange(len(labels))
        for start in range(0, len(indices), batch_size):
            chosen = indices[start:start + batch_size]
            if training:
                chosen = np.sort(chosen)  # the same images, read in memory order
            yield tuple(column[chosen] for column in columns)

    signature = tuple(tf.TensorSpec((None, *column.shape[1:]), tf.as_dtype(column.dtype))
                      for column in columns)
    dataset = tf.data.Dataset.from_generator(batches, output_signature=signature)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(-(-len(labels) // batch_size)))

    def to_float(x, *rest):
        x = tf.cast(x, tf.float32)
        if augment is not None:
            x = tf.clip_by_value(augment(x, training=True), 0.0, 255.0)
        return (x, *rest)

    dataset = dataset.map(to_float, num_parallel_calls=cores(), deterministic=True)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    # no autotuning: its thread is joined when Keras drops an epoch's iterator, and that stalls
    # the next epoch by about a second with every core idle, in one epoch of three on a 2-core
    # CPU (TensorFlow 2.21; benchmarks/train_throughput.py). The map works on all cores, which is
    # what autotuning settles on for CPU-bound work, and two batches wait ready.
    options.autotune.enabled = False
    return dataset.with_options(options).prefetch(PREFETCH_BATCHES)
