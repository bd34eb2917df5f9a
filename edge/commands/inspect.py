"""`tfedge inspect MODEL.tflite`: card, tensors, operators, size and Edge TPU readiness."""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a .tflite file (ours, or one from elsewhere)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--no-load", action="store_true",
                        help="skip loading the model in an interpreter (run in a child process)")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds the interpreter may take to load the model (default 30)")


def run(args: argparse.Namespace) -> int:
    from tfedge.edge.tflite.inspect import format_inspection, inspect_model

    report = inspect_model(args.model, load_check=not args.no_load, timeout_s=args.timeout)
    print(json.dumps(report, indent=2) if args.json else format_inspection(report))
    return 0
