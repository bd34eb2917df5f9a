"""Exit codes, and the errors a user can cause, each with its documented code (README "Exit codes").

They subclass the built-in error a plain caller would expect (ValueError, OSError), so library
users can catch those; the CLI maps them to one line and an exit code in `tfedge.main`.
Standard library only: `scripts/pi/emulation.py` loads this file by path, before tfedge is installed.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Every exit code tfedge and its scripts return; README "Exit codes" documents each one."""

    OK = 0
    INTERNAL = 1  # a bug: the traceback is shown with --debug
    USAGE = 2  # also what argparse exits with for an unknown option
    DATA = 3
    MODEL = 4
    OUTPUT = 5
    SOURCE = 6
    ACCURACY = 7
    DEPENDENCY = 8
    REMOTE = 9  # tfedge deploy: the device cannot be reached, or did not take the model
    INTERRUPTED = 130  # 128 + SIGINT, the shell's convention for Ctrl-C


class TfedgeError(Exception):
    """Base of errors that the CLI reports as one line."""

    exit_code = ExitCode.INTERNAL


class UsageError(TfedgeError, ValueError):
    """An option value that cannot work (out of range, contradictory)."""

    exit_code = ExitCode.USAGE


class DataError(TfedgeError, ValueError):
    """The data folder or an image in it cannot be used."""

    exit_code = ExitCode.DATA


class ModelError(TfedgeError, ValueError):
    """A model path is missing, is not a model, or does not fit what was asked."""

    exit_code = ExitCode.MODEL


class OutputError(TfedgeError, OSError):
    """An output cannot be written, or would overwrite what the user has."""

    exit_code = ExitCode.OUTPUT


class SourceError(TfedgeError, OSError):
    """A frame source (camera, video, stream, folder) cannot be opened."""

    exit_code = ExitCode.SOURCE


class AccuracyError(TfedgeError):
    """A converted model lost more accuracy than allowed."""

    exit_code = ExitCode.ACCURACY


class DependencyError(TfedgeError, ImportError):
    """A library, tool or device that the command needs is not available."""

    exit_code = ExitCode.DEPENDENCY


class RemoteError(TfedgeError, OSError):
    """The device cannot be reached over SSH, or did not report the deployed model."""

    exit_code = ExitCode.REMOTE
