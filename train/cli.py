"""`tfedge train DATA_DIR --out runs/NAME`: train a classifier on an image folder."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from tfedge.train.backbones import keys  # stdlib-only module

    parser.add_argument("data_dir", type=Path, help="folder with one subfolder of images per class")
    parser.add_argument("--out", type=Path, required=True, help="run folder to write (runs/NAME)")
    parser.add_argument("--backbone", default="small_cnn", choices=keys(), help="model preset")
    parser.add_argument("--image-size", type=int, default=None, help="input side in pixels")
    parser.add_argument("--color", default="auto", choices=["auto", "rgb", "gray"])
    parser.add_argument("--weights", default="none",
                        help="imagenet, none, or a local weights file (ImageNet backbones)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--val-split", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--overwrite", action="store_true", help="replace an existing run folder")


def run(args: argparse.Namespace) -> int:
    from tfedge.train.quiet import quiet_tensorflow

    quiet_tensorflow(args.debug)
    from tfedge.errors import UsageError
    from tfedge.train.hparams import HParams

    if args.epochs < 1 or args.batch_size < 1:
        raise UsageError("--epochs and --batch-size must be at least 1")
    hparams = HParams(backbone=args.backbone, image_size=args.image_size, color=args.color,
                      weights=args.weights, epochs=args.epochs, batch_size=args.batch_size,
                      learning_rate=args.learning_rate, val_split=args.val_split, seed=args.seed)
    from tfedge.train.fit import train

    train(args.data_dir, args.out, hparams, overwrite=args.overwrite)
    return 0
