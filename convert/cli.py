"""`tfedge convert runs/NAME --quant float32|int8`: write .tflite files and measure them."""

from __future__ import annotations

import argparse
from pathlib import Path

QUANT_CHOICES = ["float32", "int8"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, help="a run folder written by `tfedge train`")
    parser.add_argument("--quant", nargs="+", default=["int8"], choices=QUANT_CHOICES,
                        help="one or more modes (default int8)")
    parser.add_argument("--calibration-images", type=int, default=500,
                        help="training images used to calibrate int8 (default 500)")
    parser.add_argument("--no-verify", action="store_true",
                        help="skip measuring each model's accuracy on the validation images")


def run(args: argparse.Namespace) -> int:
    from tfedge.train.quiet import quiet_tensorflow

    quiet_tensorflow(args.debug)
    from tfedge.convert.pipeline import convert_run

    convert_run(args.run_dir, args.quant, calibration_images=args.calibration_images,
                verify=not args.no_verify)
    return 0
