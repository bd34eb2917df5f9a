"""`tfedge data fashion-mnist OUT`: export a dataset as an image folder."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", choices=["fashion-mnist"], help="which dataset")
    parser.add_argument("out", type=Path, help="folder to write OUT/train/<class>/, OUT/test/<class>/")
    parser.add_argument("--from", dest="source_dir", type=Path, default=None,
                        help="folder holding the four IDX files (default: Debian's "
                             "dataset-fashion-mnist, else download)")
    parser.add_argument("--limit-per-class", type=int, default=None,
                        help="at most this many images per class and split")
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty OUT")


def run(args: argparse.Namespace) -> int:
    from tfedge.train.fashion_mnist import export

    counts = export(args.out, args.source_dir, args.limit_per_class, args.overwrite)
    for split, per_class in counts.items():
        print(f"{args.out / split}: {sum(per_class.values())} images in {len(per_class)} classes")
    return 0
