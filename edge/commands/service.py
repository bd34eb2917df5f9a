"""`tfedge service [--install] MODEL [tfedge run options]`: print or install a systemd unit."""

from __future__ import annotations

import argparse
import getpass
import os
import shutil
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", default="tfedge", help="unit name (default tfedge: tfedge.service)")
    parser.add_argument("--user", default=None,
                        help="account that runs it (default: you; under sudo, the account that ran sudo)")
    parser.add_argument("--install", action="store_true",
                        help="write the unit to /etc/systemd/system (needs sudo) instead of printing it")
    parser.add_argument("--overwrite", action="store_true", help="replace an installed unit of that name")
    parser.add_argument("model", help="the .tflite the service runs")
    parser.add_argument("run_args", nargs=argparse.REMAINDER,
                        help="tfedge run options, after the model (--source 0 --threads 4 --on person ...); "
                             "service options go before the model")


def _tfedge_program() -> list[str]:
    """The tfedge command of this installation (its venv's script), as an absolute path."""
    beside = Path(sys.executable).parent / "tfedge"
    found = str(beside) if beside.is_file() else shutil.which("tfedge")
    return [str(Path(found).absolute())] if found else [sys.executable, "-m", "tfedge"]


def _run_command(model: Path, run_args: list[str]) -> list[str]:
    """The `tfedge run` command line: options checked with run's own parser, paths made absolute."""
    from tfedge.edge.commands.run_options import add_arguments as add_run_arguments
    from tfedge.edge.live.sources import source_kind

    checker = argparse.ArgumentParser(prog="tfedge service MODEL")
    add_run_arguments(checker)
    parsed = checker.parse_args([str(model), *run_args])  # exits 2 with argparse's message if bad
    source = parsed.source
    if source_kind(source).is_path:  # the service starts in another working directory
        source = str(Path(source).absolute())
    rest, skip = [], False
    for word in run_args:
        if skip:
            skip = False
        elif word == "--source":
            skip = True
        elif not word.startswith("--source="):
            rest.append(word)
    headless = [] if parsed.headless else ["--headless"]
    return [*_tfedge_program(), "run", str(model), "--source", source, *headless, *rest]


def run(args: argparse.Namespace) -> int:
    from tfedge.edge.live.service import SYSTEM_UNIT_DIR, ServiceSettings, log_commands, unit_text
    from tfedge.errors import ModelError, OutputError, UsageError
    from tfedge.fileio import write_text_atomic

    model = Path(args.model).absolute()
    if not model.is_file():
        raise ModelError(f"{model}: no such model file; give the path of a .tflite file")
    command = _run_command(model, args.run_args)
    user = args.user
    if user is None:  # under sudo: the account that ran sudo, not root
        user = os.environ.get("SUDO_USER") if os.geteuid() == 0 else getpass.getuser()
    try:
        settings = ServiceSettings(command, name=args.name, user=user, working_dir=str(Path.cwd()))
    except ValueError as error:
        raise UsageError(str(error)) from None
    text = unit_text(settings)
    if not args.install:
        print(text, end="")
        steps = "\n# ".join(log_commands(args.name))
        print(f"# save as {SYSTEM_UNIT_DIR / args.name}.service (or use --install), then:\n# {steps}")
        return 0
    path = SYSTEM_UNIT_DIR / f"{args.name}.service"
    if path.exists() and path.read_text() != text and not args.overwrite:
        raise OutputError(f"{path} already exists with other settings; pass --overwrite to replace it")
    try:
        write_text_atomic(path, text)
    except PermissionError:
        raise OutputError(f"cannot write {path}; run with sudo (sudo $(which tfedge) service ...)") from None
    print(f"tfedge service: wrote {path}; now run:", file=sys.stderr)
    for line in log_commands(args.name):
        print(f"  {line}", file=sys.stderr)
    return 0
