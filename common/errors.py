"""The errors a user can cause, each with its documented exit code (README "Exit codes").

They subclass the built-in error a plain caller would expect (ValueError, OSError), so library
users can catch those; the CLI maps them to one line and an exit code in `tfedge.main`.
"""

from __future__ import annotations


class TfedgeError(Exception):
    """Base of errors that the CLI reports as one line."""

    exit_code = 1


class UsageError(TfedgeError, ValueError):
    """An option value that cannot work (out of range, contradictory)."""

    exit_code = 2


class DataError(TfedgeError, ValueError):
    """The data folder or an image in it cannot be used."""

    exit_code = 3


class ModelError(TfedgeError, ValueError):
    """A model path is missing, is not a model, or does not fit what was asked."""

    exit_code = 4


class OutputError(TfedgeError, OSError):
    """An output cannot be written, or would overwrite what the user has."""

    exit_code = 5


class SourceError(TfedgeError, OSError):
    """A frame source (camera, video, stream, folder) cannot be opened."""

    exit_code = 6


class AccuracyError(TfedgeError):
    """A converted model lost more accuracy than allowed."""

    exit_code = 7


class DependencyError(TfedgeError, ImportError):
    """A library, tool or device that the command needs is not available."""

    exit_code = 8


EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 1
EXIT_USAGE = 2
