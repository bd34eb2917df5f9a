"""The collected frames a review can show, and one line for each that it cannot (damaged)."""

from __future__ import annotations

import math
from numbers import Real
from pathlib import Path

import cv2
import numpy as np

from tfedge.edge.collection import CollectedFrame, frame_path, read_collection, view_path
from tfedge.errors import DataError
from tfedge.quiet import native_stderr_silenced

JPEG_START, JPEG_END = b"\xff\xd8", b"\xff\xd9"


def jpeg_problem(path: Path) -> str | None:
    """Why the JPEG at `path` cannot be shown (truncated, not a JPEG, does not decode), or None."""
    try:
        data = path.read_bytes()
    except OSError as error:
        return f"{path.name}: {error.strerror}"
    if not data.startswith(JPEG_START):
        return f"{path.name} is not a JPEG"
    if JPEG_END not in data[-16:]:
        return f"{path.name} is truncated"
    with native_stderr_silenced():  # libjpeg's own warnings; the line below says it
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_REDUCED_GRAYSCALE_8)
    return None if image is not None and image.size else f"{path.name} does not decode"


def field_problem(frame: CollectedFrame) -> str | None:
    """Why a sidecar's values cannot be used (types the format promises but JSON cannot enforce)."""
    if (not isinstance(frame.informativeness, Real) or isinstance(frame.informativeness, bool)
            or not math.isfinite(frame.informativeness)):
        return "informativeness is not a number"
    if not isinstance(frame.label, str) or not frame.label:
        return "label is not a class name"
    if not isinstance(frame.labels, list) or not all(isinstance(n, str) and n for n in frame.labels):
        return "labels is not a list of class names"
    if not isinstance(frame.top_k, list) or not all(
            isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)
            and isinstance(pair[1], Real) for pair in frame.top_k):
        return "top_k is not a list of [label, score]"
    return None


def load_frames(folder: str | Path) -> tuple[list[CollectedFrame], list[str]]:
    """The usable frames of a collect folder and one line per damaged entry.

    Raises DataError when `folder` is missing, is not a collect folder, or has no usable frame.
    """
    folder = Path(folder)
    hint = "give the folder that `tfedge run --collect DIR` wrote"
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder; {hint}")
    frames, problems = read_collection(folder)
    if not frames and not problems:
        raise DataError(f"{folder} holds no collected frames (no <id>.json sidecars); {hint}")
    usable = []
    for frame in frames:
        problem = (field_problem(frame) or jpeg_problem(frame_path(folder, frame.id))
                   or jpeg_problem(view_path(folder, frame.id)))
        if problem:
            problems.append(f"{frame.id}: {problem}")
        else:
            usable.append(frame)
    if not usable:
        raise DataError(f"none of the {len(problems)} collected frames in {folder} can be used "
                        f"(first: {problems[0]}); {hint}")
    return usable, problems
