"""`tfedge convert runs/NAME --quant MODE... | --all`: write .tflite files, verify them, one table."""

from __future__ import annotations

import argparse
from pathlib import Path

from tfedge.convert.quantize import (  # stdlib only at import time
    DEFAULT_CALIBRATION_IMAGES,
    IO_TYPES,
    Quantization,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, help="a run folder written by `tfedge train`")
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument("--quant", nargs="+", default=[Quantization.INT8.value],
                       choices=[mode.value for mode in Quantization], help="one or more modes (default int8)")
    modes.add_argument("--all", action="store_true",
                       help="every mode, from one shared calibration")
    parser.add_argument("--io-type", default=IO_TYPES[0], choices=IO_TYPES,
                        help="input and output type of int8/edgetpu models (default uint8: camera bytes)")
    parser.add_argument("--calibration-images", type=int, default=DEFAULT_CALIBRATION_IMAGES,
                        help="training images, stratified across classes, that calibrate int8 "
                             "(default %(default)s)")
    parser.add_argument("--max-drop", type=float, default=1.0, metavar="PP",
                        help="percentage points int8 may lose against the Keras model on the "
                             "validation images before exit code 7 (default 1.0)")
    parser.add_argument("--out-dir", type=Path, default=None,
                        help="folder for the .tflite files (default: the run folder)")
    parser.add_argument("--verify-dir", type=Path, default=None,
                        help="labelled folder (one subfolder per label) to measure on instead of the "
                             "run's validation images, e.g. a held-out test set")
    parser.add_argument("--no-verify", action="store_true",
                        help="skip measuring each model's accuracy on the validation images")
    parser.add_argument("--rgb-input", action="store_true",
                        help="give a gray (one-channel) model an RGB input, converted to gray inside "
                             "the model, so MediaPipe Tasks and other RGB-only pipelines run it")
    metadata = parser.add_argument_group("standard TFLite metadata (read by MediaPipe, Android, Netron)")
    metadata.add_argument("--model-name", default="", help="default: the run's name")
    metadata.add_argument("--model-description", default="",
                          help="default: what it classifies, its backbone and quantization")
    metadata.add_argument("--model-version", default="", help="default: the SavedModel's hash")
    metadata.add_argument("--author", default="", help="who made the model (default: empty)")
    metadata.add_argument("--license", default="", help="its licence, e.g. Apache-2.0 (default: empty)")


def run(args: argparse.Namespace) -> int:
    from tfedge.errors import UsageError
    from tfedge.quiet import quiet_tensorflow

    if args.max_drop < 0:
        raise UsageError(f"--max-drop {args.max_drop:g} is negative; give percentage points, e.g. 1.0")
    quiet_tensorflow(args.debug)
    from tfedge.convert.convert_run import ALL_MODES, convert_run
    from tfedge.convert.metadata_writer import ModelInfo

    convert_run(args.run_dir, ALL_MODES if args.all else args.quant,
                calibration_images=args.calibration_images, io_type=args.io_type,
                verify=not args.no_verify, max_drop=None if args.no_verify else args.max_drop,
                out_dir=args.out_dir, verify_dir=args.verify_dir, rgb_input=args.rgb_input,
                info=ModelInfo(args.model_name, args.model_description, args.model_version,
                               args.author, args.license))
    return 0
