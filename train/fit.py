"""One training run: data in, runs/NAME/ out (SavedModel, model.keras, card, metrics, split)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from tfedge import __version__
from tfedge.edge.card import ModelCard, save_card
from tfedge.edge.labelled import load_pixels
from tfedge.errors import DataError
from tfedge.fileio import staged_folder
from tfedge.run_layout import (
    CARD_FILE,
    CONFIG_FILE,
    KERAS_MODEL,
    METRICS_FILE,
    SAVED_MODEL,
    SPLIT_FILE,
)
from tfedge.train.backbones import Backbone
from tfedge.train.dataset import Split, all_gray, scan
from tfedge.train.hparams import HParams


def make_card(hparams: HParams, split: Split, run_name: str) -> ModelCard:
    backbone = Backbone.from_key(hparams.backbone)
    size = hparams.image_size or backbone.spec.default_input_size
    if not backbone.spec.min_input_size <= size <= backbone.spec.max_input_size:
        raise DataError(f"--image-size {size} does not suit {backbone.spec.key} "
                        f"({backbone.spec.min_input_size} to {backbone.spec.max_input_size})")
    color = hparams.color
    if color == "auto":
        gray = backbone.spec.supports_grayscale and all_gray(split.train)
        color = "gray" if gray else "rgb"
    if color == "gray" and not backbone.spec.supports_grayscale:
        raise DataError(f"{backbone.spec.key} needs colour input; use --color rgb")
    return ModelCard(
        labels=split.labels,
        input_size=(size, size),
        color_order="GRAY" if color == "gray" else "RGB",
        backbone=backbone.spec.key,
        provenance={"run": run_name, "tfedge_version": __version__},
    )


def _write_split(path: Path, split: Split) -> None:
    def rel(items):
        return [[str(p.relative_to(split.root)), label] for p, label in items]

    data = {"root": str(split.root.resolve()), "labels": split.labels,
            "train": rel(split.train), "val": rel(split.val), "skipped": split.skipped}
    path.write_text(json.dumps(data) + "\n")


def _check_loaded(name: str, labels, split: Split) -> None:
    import numpy as np

    counts = np.bincount(labels, minlength=len(split.labels))
    for index, count in enumerate(counts):
        if count == 0:
            raise DataError(f"{split.root}: every {name} image of class {split.labels[index]!r} "
                            "is unreadable; replace the corrupt files")


def train(data_dir: str | Path, out: str | Path, hparams: HParams, overwrite: bool = False,
          log=print) -> dict:
    """Train a classifier and write the run folder. Returns the metrics."""
    out = Path(out)
    split = scan(data_dir, hparams.val_split, hparams.seed)
    card = make_card(hparams, split, out.name)
    with staged_folder(out, overwrite=overwrite) as staging:
        log(f"{len(split.labels)} classes, {len(split.train)} train / {len(split.val)} validation "
            f"images; {card.backbone} at {card.input_size[0]}x{card.input_size[1]} "
            f"{card.color_order}")
        x_train, y_train, skipped_train = load_pixels(split.train, card)
        x_val, y_val, skipped_val = load_pixels(split.val, card)
        split.skipped = skipped_train + skipped_val
        for item in split.skipped:
            log(f"skipped {item['reason']}")
        _check_loaded("training", y_train, split)
        _check_loaded("validation", y_val, split)

        import keras

        from tfedge.train.model import build_model

        keras.utils.set_random_seed(hparams.seed)
        model = build_model(Backbone.from_key(hparams.backbone), card.input_size, card.channels,
                            len(split.labels), hparams.weights)
        model.compile(optimizer=keras.optimizers.Adam(hparams.learning_rate),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        started = time.perf_counter()
        history = model.fit(
            x_train.astype("float32"), y_train, batch_size=hparams.batch_size,
            epochs=hparams.epochs, validation_data=(x_val.astype("float32"), y_val),
            verbose=1 if sys.stdout.isatty() else 2,
        )
        train_seconds = time.perf_counter() - started
        val_loss, val_accuracy = model.evaluate(x_val.astype("float32"), y_val, verbose=0)
        metrics = {
            "val_accuracy": float(val_accuracy),
            "val_loss": float(val_loss),
            "train_images": int(len(y_train)),
            "val_images": int(len(y_val)),
            "epochs": hparams.epochs,
            "train_seconds": round(train_seconds, 2),
            "images_per_second": round(len(y_train) * hparams.epochs / train_seconds, 1),
            "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
            "skipped": split.skipped,
        }
        model.save(staging / KERAS_MODEL)
        model.export(str(staging / SAVED_MODEL), verbose=False)
        save_card(card, staging / CARD_FILE)
        _write_split(staging / SPLIT_FILE, split)
        (staging / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n")
        config = {"data_dir": str(Path(data_dir).resolve()), "hparams": hparams.to_dict(),
                  "tfedge_version": __version__, "tensorflow_version": _tf_version(),
                  "keras_version": keras.__version__, "dataset_hash": split.fingerprint(),
                  "dataset_files": len(split.train) + len(split.val)}
        (staging / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
    log(f"validation accuracy {val_accuracy:.4f} ({len(y_val)} images); run written to {out}")
    return metrics


def _tf_version() -> str:
    import tensorflow as tf

    return tf.__version__
