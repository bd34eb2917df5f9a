"""The `tfedge` command: parses arguments, calls one stage's `run`, maps errors to exit codes.

Each stage's CLI module imports only the standard library at import time, so `tfedge run`
never loads TensorFlow.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from tfedge import __version__
from tfedge.errors import ExitCode, TfedgeError

# subcommand -> (stage, help); its module tfedge.STAGE.commands.SUBCOMMAND provides
# add_arguments(parser) and run(args)
COMMANDS = {
    "data": ("train", "export a dataset (Fashion-MNIST) as an image folder"),
    "train": ("train", "train a classifier on an image folder"),
    "convert": ("convert", "convert a trained run to .tflite (float32, int8, ...)"),
    "metadata": ("convert", "write standard TFLite metadata (labels, scaling) into a .tflite from elsewhere"),
    "run": ("edge", "classify frames from a camera, video or folder"),
    "verify": ("edge", "measure a .tflite's accuracy on labelled images, per class"),
    "inspect": ("edge", "show a .tflite's card, tensors, operators, Edge TPU readiness"),
    "bench": ("edge", "measure a model's invoke latency per backend and thread count"),
    "review": ("edge", "label collected frames in a local web page (tfedge run --collect DIR)"),
    "service": ("edge", "print or install a systemd unit that runs tfedge run at boot"),
    "deploy": ("edge", "copy a model to a device over SSH, self-test it there, swap it in; or roll back"),
}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; given the command line, only its subcommand's options are built (each
    subcommand's module and its options cost start-up time: 40 ms for all of them)."""
    parser = argparse.ArgumentParser(prog="tfedge", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"tfedge {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    named = next((word for word in argv or () if not word.startswith("-")), None)
    for name, (stage, help_text) in COMMANDS.items():
        if named in COMMANDS and name != named:
            continue
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--debug", action="store_true", help="show tracebacks for errors")
        module = importlib.import_module(f"tfedge.{stage}.commands.{name}")
        module.add_arguments(sub)
        sub.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    try:
        result = args._module.run(args)
        return int(result or ExitCode.OK)
    except TfedgeError as error:
        if args.debug:
            raise
        print(f"tfedge {args.command}: error: {error}", file=sys.stderr)
        return int(error.exit_code)
    except KeyboardInterrupt:
        print(f"tfedge {args.command}: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except Exception as error:  # noqa: BLE001 - the one place that turns surprises into one line
        if args.debug:
            raise
        print(
            f"tfedge {args.command}: internal error: {type(error).__name__}: {error} "
            "(run again with --debug for the traceback, and please report it)",
            file=sys.stderr,
        )
        return int(ExitCode.INTERNAL)


if __name__ == "__main__":
    sys.exit(main())
