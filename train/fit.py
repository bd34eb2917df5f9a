"""One training run: data in, runs/NAME/ out (SavedModel, model.keras, card, metrics, report).

Small CNN: one stage, the whole network trains. ImageNet backbones: stage 1 trains the new
head on the frozen backbone; stage 2 unfreezes the backbone's top layers at a lower learning
rate, BatchNorm kept in inference mode. Each stage stops early when the validation loss stops
falling, and the weights of the best epoch (over both stages) are the ones kept.
"""

from __future__ import annotations

import json
import math
import platform
import sys
import time
from pathlib import Path

from tfedge import __version__
from tfedge.edge.card import ModelCard, save_card
from tfedge.errors import OutputError, UsageError
from tfedge.fileio import replace_atomically, write_text_atomic
from tfedge.run_layout import CARD_FILE, CONFIG_FILE, KERAS_MODEL, METRICS_FILE, SAVED_MODEL, SPLIT_FILE
from tfedge.train.backbones import Backbone
from tfedge.train.checkpoint import (
    BEST_WEIGHTS,
    LAST_WEIGHTS,
    OPTIMIZER_FILE,
    StageProgress,
    is_complete_run,
    load_optimizer,
    make_checkpoint_callback,
    partial_path,
    run_staging,
    save_state,
)
from tfedge.train.dataset import Listing, Split, all_gray, list_files, load_split
from tfedge.train.hparams import HParams
from tfedge.train.reviewed import AddedData, add_reviewed, list_reviewed, merged_labels

# Training steps per call into the compiled train function (and validation steps per call into
# the test function): one Python round trip per step costs dispatch overhead that a small model
# on a CPU feels (benchmarks/train_throughput.py). Only `on_epoch_*` callbacks are used, so the
# batches, the weights and the per-epoch history are the same as with one step per call.
STEPS_PER_EXECUTION = 16


def make_card(hparams: HParams, listing: Listing, run_name: str,
              labels: list[str] | None = None) -> ModelCard:
    backbone = Backbone.from_key(hparams.backbone)
    size = hparams.image_size or backbone.spec.default_input_size
    if not backbone.spec.min_input_size <= size <= backbone.spec.max_input_size:
        raise UsageError(f"--image-size {size} does not suit {backbone.spec.key} "
                         f"({backbone.spec.min_input_size} to {backbone.spec.max_input_size})")
    color = hparams.color
    if color == "auto":
        gray = backbone.spec.supports_grayscale and all_gray(listing.all_items)
        color = "gray" if gray else "rgb"
    if color == "gray" and not backbone.spec.supports_grayscale:
        raise UsageError(f"{backbone.spec.key} needs colour input; use --color rgb")
    return ModelCard(
        labels=labels or listing.labels,
        input_size=(size, size),
        color_order="GRAY" if color == "gray" else "RGB",
        backbone=backbone.spec.key,
        provenance={"run": run_name, "tfedge_version": __version__},
    )


def _write_split(path: Path, split: Split) -> None:
    def rel(items):
        return [[str(p.relative_to(split.root) if p.is_relative_to(split.root) else p.resolve()), label]
                for p, label in items]

    data = {"root": str(split.root.resolve()), "labels": split.labels,
            "train": rel(split.train), "val": rel(split.val), "skipped": split.skipped}
    path.write_text(json.dumps(data) + "\n")


def _augment_enabled(hparams: HParams) -> bool:
    if hparams.augment == "auto":
        return _is_transfer(hparams)
    return hparams.augment == "on"


def _run_stage(model, number: int, epochs: int, learning_rate: float, data, staging, state,
               hparams: HParams, placement, log) -> None:
    """Train one stage (resuming it when the checkpoint says so), then keep its best weights."""
    import keras

    previous = StageProgress.from_state(state, number - 1) if number > 1 else None
    progress = StageProgress.from_state(state, number)
    if previous is not None and progress.epochs_done == 0:
        progress.best_val_loss, progress.best_epoch = previous.best_val_loss, -1
    if progress.finished or state.get("out_of_time"):
        return
    train_data, val_data, steps, recompute = data
    with placement.strategy.scope():
        schedule = keras.optimizers.schedules.CosineDecay(learning_rate, max(1, epochs * steps))
        model.compile(optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"], jit_compile=placement.xla,
                      steps_per_execution=_steps_per_execution(placement, steps))
        if progress.epochs_done:
            log(f"resuming stage {number} after epoch {progress.epochs_done}")
            # the optimizer first: built, it takes its saved state again from the weights file
            load_optimizer(model.optimizer, model.trainable_variables, staging.progress / OPTIMIZER_FILE)
            model.load_weights(staging.progress / LAST_WEIGHTS)

    def validate() -> dict:
        """BatchNorm statistics of this epoch's weights first, then validation on them."""
        seconds = recompute()
        started = time.perf_counter()
        scores = model.evaluate(val_data, verbose=0, return_dict=True)
        history = state.setdefault("history", {})
        history.setdefault("batchnorm_seconds", []).append(round(seconds, 3))
        history.setdefault("validation_seconds", []).append(round(time.perf_counter() - started, 3))
        return {f"val_{name}": value for name, value in scores.items()}

    callback = make_checkpoint_callback(staging, progress, state, hparams.early_stopping_patience,
                                        hparams.max_train_seconds, validate)
    if placement.strategy_name == "multi-worker":
        from tfedge.train.distribute import apply_keras_multi_worker_workarounds

        apply_keras_multi_worker_workarounds(model, train_data)
    if progress.epochs_done < epochs:
        # validation runs in the callback, after the BatchNorm statistics are recomputed
        model.fit(train_data, epochs=epochs, initial_epoch=progress.epochs_done,
                  callbacks=[callback], shuffle=False,  # the dataset shuffles
                  verbose=1 if sys.stdout.isatty() else 2)
    if any("time limit" in note for note in state.get("stopped_early", [])):
        state["out_of_time"] = True
    best = staging.progress / BEST_WEIGHTS
    if best.is_file():  # the stage is over: its optimizer's state is not needed again
        model.load_weights(best, objects_to_skip=[model.optimizer])
        replace_atomically(staging.progress / LAST_WEIGHTS, model.save_weights)
    progress.finished = True
    state.setdefault("stages", {})[str(number)] = progress.__dict__
    save_state(staging, state)


def _fit(split: Split, card: ModelCard, hparams: HParams, placement, staging, state: dict, log):
    """Build the model under the strategy and run the stages; returns the trained model."""
    import keras

    from tfedge.train.batchnorm import BatchNormRecompute, trained_batchnorm_layers
    from tfedge.train.dataset import augmentation, make_dataset
    from tfedge.train.model import build_model, set_fine_tuning

    backbone = Backbone.from_key(hparams.backbone)
    keras.utils.set_random_seed(hparams.seed)
    transfer = _is_transfer(hparams)
    with placement.strategy.scope():
        model = build_model(backbone, card.input_size, card.channels, len(split.labels),
                            hparams.weights, hparams.dropout, frozen_batchnorm=transfer)
    if state.get("stages"):  # resuming: the last checkpoint holds the weights so far
        model.load_weights(staging.progress / LAST_WEIGHTS)
    weights = split.class_weights() if hparams.class_weights else None
    augment = augmentation(hparams.flip, hparams.seed) if _augment_enabled(hparams) else None
    train_data = make_dataset(split.x_train, split.y_train, hparams.batch_size, True, hparams.seed,
                              weights, augment, split.sample_weight)
    val_data = make_dataset(split.x_val, split.y_val, hparams.batch_size, False)
    # pretrained BatchNorm stays frozen; every other BatchNorm gets statistics of its weights
    recompute = BatchNormRecompute(model, [] if transfer else trained_batchnorm_layers(model),
                                   split.x_train, hparams.batch_size, hparams.seed)
    data = (train_data, val_data, math.ceil(len(split.y_train) / hparams.batch_size), recompute)
    if transfer:
        set_fine_tuning(model, 0)
    elif backbone.spec.application:
        log(f"--weights none: training all of {backbone.spec.key} from scratch (no transfer learning)")
    _run_stage(model, 1, hparams.epochs, hparams.learning_rate, data, staging, state, hparams,
               placement, log)
    if transfer and hparams.fine_tune_epochs:
        unfrozen = set_fine_tuning(model, hparams.fine_tune_layers)
        log(f"stage 2: fine-tuning {unfrozen} backbone layers at learning rate "
            f"{hparams.fine_tune_learning_rate:g}")
        _run_stage(model, 2, hparams.fine_tune_epochs, hparams.fine_tune_learning_rate, data, staging,
                   state, hparams, placement, log)
    return model


def _steps_per_execution(placement, steps: int) -> int:
    """STEPS_PER_EXECUTION on one device; one under a distribution strategy, where Keras 3.15's
    multi-step function fails on an epoch's last, partial execution (mirrored) or meets our
    multi-worker workarounds, which assume one step per call."""
    return max(1, min(STEPS_PER_EXECUTION, steps)) if placement.strategy_name == "default" else 1


def _is_transfer(hparams: HParams) -> bool:
    """Pretrained ImageNet backbone: two stages, BatchNorm in inference mode."""
    return bool(Backbone.from_key(hparams.backbone).spec.application) and hparams.weights != "none"


def _export_model(model, card: ModelCard, hparams: HParams, num_classes: int):
    """The trained weights in a float32, single-device copy of the model (what gets saved)."""
    import keras

    from tfedge.train.model import build_model

    keras.mixed_precision.set_global_policy("float32")
    # the same weights argument gives the same graph (Keras adds a layer to EfficientNet only
    # for ImageNet weights); downloads are cached by Keras, so this fetches nothing new
    export = build_model(Backbone.from_key(hparams.backbone), card.input_size, card.channels,
                         num_classes, hparams.weights, hparams.dropout,
                         frozen_batchnorm=_is_transfer(hparams))
    export.set_weights(model.get_weights())
    return export


def _versions() -> dict:
    import keras
    import tensorflow as tf

    return {"tfedge_version": __version__, "tensorflow_version": tf.__version__,
            "keras_version": keras.__version__, "python_version": platform.python_version()}


def train(data_dir: str | Path, out: str | Path, hparams: HParams, overwrite: bool = False,
          resume: bool = False, log=print, added: AddedData | None = None,
          previous_run: Path | None = None) -> dict:
    """Train a classifier and write the run folder. Returns the metrics.

    `added`: reviewed frames to train with too (tfedge.train.reviewed); the metrics and report
    then compare the new model with `previous_run`'s (tfedge.train.compare).
    """
    out = Path(out)
    if resume and is_complete_run(out) and not partial_path(out).is_dir():
        log(f"{out} is already complete; nothing to resume (pass --overwrite to train again)")
        return json.loads((out / METRICS_FILE).read_text())
    listing = list_files(data_dir)
    reviewed = list_reviewed(added.folder) if added else None
    labels, new_classes = merged_labels(listing.labels, reviewed) if reviewed else (listing.labels, [])
    for label in new_classes:
        log(f"--add brings a new class, {label!r}: this training adds it to the model")
    card = make_card(hparams, listing, out.name, labels)
    placement = _place(hparams, resume)
    with run_staging(out, overwrite, resume, placement.is_chief) as staging:
        state = _start_state(staging, hparams, listing, out, resume, log)
        split = load_split(listing, card, hparams.val_split, hparams.seed)
        if reviewed:
            split, held = add_reviewed(split, reviewed, labels, card, added, hparams.seed)
        _log_setup(split, card, hparams, placement, log)
        model = _fit(split, card, hparams, placement, staging, state, log)
        model = _export_model(model, card, hparams, len(split.labels))
        scores = model.predict(split.x_val.astype("float32"), batch_size=hparams.batch_size, verbose=0)
        metrics = _metrics(split, scores, state)
        config = _config(data_dir, hparams, listing, placement)
        if added:
            from tfedge.train.compare import compare

            metrics["comparison"] = compare(previous_run, model, split, held, new_classes,
                                            hparams.batch_size)
            config["added"] = added.to_config()
        _write_run(staging.path, model, card, split, scores, metrics, config)
    if placement.is_chief:
        from tfedge.train.report import summary_table

        log(summary_table(metrics, split.labels))
        if "comparison" in metrics:
            from tfedge.train.compare import comparison_lines

            log("\n".join(comparison_lines(metrics["comparison"])))
        log(f"run written to {out} (report: {out / 'report.html'})")
    return metrics


def _place(hparams: HParams, resume: bool):
    """The strategy, precision and XLA for this run (see `tfedge.train.distribute.place`)."""
    from tfedge.train.distribute import place

    placement = place(hparams)
    if resume and placement.strategy_name == "multi-worker":
        raise UsageError("--resume works on one machine; restart a multi-worker run without it")
    return placement


def _start_state(staging, hparams: HParams, listing: Listing, out: Path, resume: bool, log) -> dict:
    """The training state: the interrupted run's when resuming it, else a new one."""
    state = staging.state or {"hparams": hparams.to_dict(), "dataset_hash": listing.fingerprint()}
    if staging.state and (state["hparams"] != hparams.to_dict()
                          or state["dataset_hash"] != listing.fingerprint()):
        raise OutputError(f"the interrupted run of {out} used other settings or data; pass the "
                          "same ones to --resume, or --overwrite to start again")
    if resume and not staging.state:
        log(f"no interrupted run of {out} to resume; starting a new one")
    return state


def _log_setup(split: Split, card: ModelCard, hparams: HParams, placement, log) -> None:
    """One line on the data, model and placement, and warnings about the data."""
    log(f"{len(split.labels)} classes, {len(split.y_train)} train / {len(split.y_val)} validation "
        f"images; {card.backbone} at {card.input_size[0]}x{card.input_size[1]} {card.color_order}; "
        f"{placement.strategy_name} strategy on {placement.replicas} device(s)"
        f"{', mixed precision' if placement.mixed_precision else ''}{', XLA' if placement.xla else ''}")
    if split.skipped:
        log(f"skipped {len(split.skipped)} unreadable file(s), e.g. {split.skipped[0]['reason']}")
    if split.imbalance() > 1.5:
        log(f"classes are imbalanced ({split.imbalance():.1f}:1); "
            + ("weighting the loss by class" if hparams.class_weights else "class weights are off"))


def _metrics(split: Split, scores, state: dict) -> dict:
    """metrics.json: validation accuracy per class, plus the training history and the data."""
    from tfedge.train.report import evaluate_scores, learning_warning

    metrics = evaluate_scores(split, scores)
    metrics.update(
        train_images=int(len(split.y_train)), val_images=int(len(split.y_val)),
        epochs_run=len(state.get("history", {}).get("loss", [])),
        train_seconds=round(state.get("train_seconds", 0.0), 2),
        images_per_second=_throughput(state, len(split.y_train)),
        stopped_early=state.get("stopped_early", []), history=state.get("history", {}),
        class_counts=split.class_counts(), imbalance=round(split.imbalance(), 3),
        skipped=split.skipped,
    )
    train_accuracy = metrics["history"].get("accuracy")
    metrics["warning"] = learning_warning(metrics["val_accuracy"],
                                          train_accuracy[-1] if train_accuracy else None, len(split.labels))
    return metrics


def _config(data_dir: str | Path, hparams: HParams, listing: Listing, placement) -> dict:
    """config.json: everything needed to train the run again (`tfedge train --config`)."""
    return {"data_dir": str(Path(data_dir).resolve()), "hparams": hparams.to_dict(),
            **_versions(), "dataset_hash": listing.fingerprint(),
            "dataset_files": len(listing.all_items),
            "placement": {"strategy": placement.strategy_name, "replicas": placement.replicas,
                          "mixed_precision": placement.mixed_precision, "xla": placement.xla,
                          "gpus": placement.gpus},
            "augmentation": _augment_enabled(hparams)}


def _write_run(folder: Path, model, card: ModelCard, split: Split, scores, metrics: dict,
               config: dict) -> None:
    """Write the run folder's files (into the staging folder that becomes the run)."""
    from tfedge.train.report import write_report

    model.save(folder / KERAS_MODEL)
    model.export(str(folder / SAVED_MODEL), verbose=False)
    save_card(card, folder / CARD_FILE)
    _write_split(folder / SPLIT_FILE, split)
    write_text_atomic(folder / METRICS_FILE, json.dumps(metrics, indent=2) + "\n")
    write_text_atomic(folder / CONFIG_FILE, json.dumps(config, indent=2) + "\n")
    write_report(folder, split, scores, metrics, config)


def _throughput(state: dict, train_images: int) -> float:
    """Training images per second over the epochs after the first (which includes tracing)."""
    seconds = state.get("history", {}).get("epoch_seconds", [])
    steady = seconds[1:] or seconds
    return round(train_images * len(steady) / sum(steady), 1) if steady else 0.0

