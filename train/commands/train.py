"""`tfedge train DATA_DIR --out runs/NAME`: train a classifier on an image folder."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

# option -> (HParams field, type, help); defaults live in HParams alone
OPTIONS = {
    "--backbone": ("backbone", str, "model preset (see --list-backbones); default small_cnn"),
    "--image-size": ("image_size", int, "input side in pixels (default: the preset's)"),
    "--color": ("color", str, "auto, rgb or gray"),
    "--weights": ("weights", str, "imagenet, none, or a local weights file of the backbone"),
    "--epochs": ("epochs", int, "stage 1 epochs (head only, for ImageNet backbones)"),
    "--fine-tune-epochs": ("fine_tune_epochs", int, "stage 2 epochs (0 skips fine-tuning)"),
    "--fine-tune-layers": ("fine_tune_layers", int, "backbone top layers unfrozen in stage 2 (-1: all)"),
    "--batch-size": ("batch_size", int, "images per step, across all devices"),
    "--learning-rate": ("learning_rate", float, "stage 1 Adam learning rate"),
    "--fine-tune-learning-rate": ("fine_tune_learning_rate", float, "stage 2 Adam learning rate"),
    "--dropout": ("dropout", float, "dropout before the classifier"),
    "--early-stopping-patience": ("early_stopping_patience", int,
                                  "epochs without a lower validation loss before stopping (0: never)"),
    "--augment": ("augment", str, "auto (on for ImageNet backbones), on or off"),
    "--flip": ("flip", str, "horizontal, vertical or horizontal_and_vertical"),
    "--val-split": ("val_split", float, "fraction of each class held out for validation"),
    "--seed": ("seed", int, "seed for split, shuffling, augmentation and initialisation"),
    "--mixed-precision": ("mixed_precision", str, "auto (on a GPU), on or off"),
    "--xla": ("xla", str, "auto (on a GPU), on or off"),
    "--strategy": ("strategy", str, "auto, default, mirrored or multi-worker (TF_CONFIG)"),
    "--max-train-seconds": ("max_train_seconds", float, "stop starting epochs after this long"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data_dir", type=Path, nargs="?",
                        help="folder with one subfolder of images per class (or train/ and val/)")
    parser.add_argument("--out", type=Path, help="run folder to write (runs/NAME)")
    for option, (_, kind, help_text) in OPTIONS.items():
        parser.add_argument(option, type=kind, default=None, help=help_text)
    parser.add_argument("--no-class-weights", action="store_true",
                        help="do not weigh the loss by class frequency")
    parser.add_argument("--config", type=Path,
                        help="a run's config.json: train again with its data folder and settings")
    parser.add_argument("--add", type=Path, metavar="REVIEWED",
                        help="train with reviewed frames too (REVIEWED/<class>/*.jpg, as `tfedge "
                             "review` writes); the report compares with the --config run's model")
    parser.add_argument("--add-weight", type=float, default=1.0,
                        help="loss weight of each reviewed image against an original one (default 1)")
    parser.add_argument("--add-val-split", type=float, default=0.2,
                        help="share of each reviewed class held out to compare the models on "
                             "(default 0.2; 0 trains on all)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run from its last finished epoch")
    parser.add_argument("--list-backbones", action="store_true", help="show the presets and exit")


def _load_config(path: Path) -> dict:
    from tfedge.errors import UsageError

    try:
        config = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise UsageError(f"--config {path}: cannot read it ({error}); give a run's config.json") from None
    if not isinstance(config, dict) or "hparams" not in config:
        raise UsageError(f"--config {path}: no 'hparams'; give the config.json of a tfedge run")
    return config


def run(args: argparse.Namespace) -> int:
    from tfedge.errors import DataError, UsageError

    if args.list_backbones:
        from tfedge.train.backbones import table

        print(table())
        return 0
    from tfedge.quiet import quiet_tensorflow

    quiet_tensorflow(args.debug)
    from tfedge.train.hparams import HParams

    config = _load_config(args.config) if args.config else {}
    settings = dict(config.get("hparams", {}))
    for name, _, _ in OPTIONS.values():
        value = getattr(args, name)
        if value is not None:
            settings[name] = value
    if args.no_class_weights:
        settings["class_weights"] = False
    hparams = HParams.from_dict(settings)
    data_dir = args.data_dir or (Path(config["data_dir"]) if "data_dir" in config else None)
    if data_dir is None:
        raise DataError("no data folder; give DATA_DIR (or --config with a run's config.json)")
    if args.out is None:
        raise UsageError("--out is required: the run folder to write (runs/NAME)")
    from tfedge.train.fit import train
    from tfedge.train.reviewed import AddedData

    added = None
    if args.add is not None:
        added = AddedData(args.add, args.add_weight, args.add_val_split)
    elif config.get("added"):  # a run trained with --add trains again with the same frames
        added = AddedData(Path(config["added"]["folder"]), config["added"]["weight"],
                          config["added"]["val_split"])
    previous_run = args.config.parent if args.config else None
    train(data_dir, args.out, hparams, overwrite=args.overwrite, resume=args.resume, added=added,
          previous_run=previous_run)
    if config and config.get("dataset_hash"):
        from tfedge.train.dataset import list_files

        if list_files(data_dir).fingerprint() != config["dataset_hash"]:
            print(f"note: {data_dir} differs from the data the config's run used (hash "
                  f"{config['dataset_hash']})")
    return 0
