"""`tfedge metadata MODEL --labels labels.txt --input-range 0,1 --out NEW.tflite`: standard metadata.

It lives with convert (desktop): re-serialising a model with a new metadata buffer uses the TFLite
schema and the flatbuffers builder that come with TensorFlow; the device only reads metadata.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def _floats(text: str) -> list[float]:
    try:
        return [float(value) for value in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not numbers separated by commas") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", type=Path, help="a .tflite image classifier without metadata")
    parser.add_argument("--labels", type=Path, required=True,
                        help="labels.txt, one label per output in order (`0 cat` also works)")
    parser.add_argument("--input-range", default=None, metavar="0,1|-1,1|0,255",
                        help="the range the model's float input was trained on (write --input-range=-1,1)")
    parser.add_argument("--mean", type=_floats, default=None, metavar="M[,M,M]",
                        help="subtracted from 0..255 pixels (one value or one per channel)")
    parser.add_argument("--std", type=_floats, default=None, metavar="S[,S,S]",
                        help="divides after the mean (one value or one per channel)")
    parser.add_argument("--out", type=Path, required=True, help="the new .tflite to write")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace metadata the model already has, and an existing --out file")
    parser.add_argument("--model-name", default="", help="default: the file's name")
    parser.add_argument("--model-description", default="")
    parser.add_argument("--model-version", default="")
    parser.add_argument("--author", default="")
    parser.add_argument("--license", default="")


def run(args: argparse.Namespace) -> int:
    from tfedge.convert.add_metadata import add_metadata
    from tfedge.convert.metadata_writer import ModelInfo
    from tfedge.quiet import quiet_tensorflow

    quiet_tensorflow(args.debug)
    path = add_metadata(args.model, args.out, args.labels, args.input_range, args.mean, args.std,
                        args.overwrite, ModelInfo(args.model_name, args.model_description,
                                                  args.model_version, args.author, args.license))
    print(f"wrote {path}")
    return 0
