"""The OUT folder of a review: `OUT/<class>/<id>.jpg` (training format) and `OUT/decisions.jsonl`.

The log is rewritten through a temp file and a rename after every decision, so it is always
whole. An image is placed before its decision is logged and removed after its undo is logged;
`reconcile` puts the folders back in line with the log after an interrupted step.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; README asks for one review per OUT at a time
    fcntl = None

from tfedge.edge.review.decisions import LABEL, Entry
from tfedge.errors import DataError, OutputError
from tfedge.fileio import replace_atomically, write_bytes_atomic

LOG_NAME = "decisions.jsonl"
LOCK_NAME = ".review.lock"


def open_output(out: str | Path) -> Path:
    """Create or reopen OUT (a new folder, or one an earlier review wrote), checked writable."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} is a file; choose a folder for the reviewed images")
    if out.is_dir() and not (out / LOG_NAME).is_file() and any(
            p.name != LOCK_NAME for p in out.iterdir()):
        raise OutputError(f"--out {out} holds other files and no {LOG_NAME}; choose an empty or new "
                          "folder, or the --out of an earlier review to resume it")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as error:
        raise OutputError(f"--out {out} is not writable ({error.strerror}); choose a writable "
                          "folder") from None
    return out


def lock_output(out: Path):
    """Hold OUT for this review until the returned file is closed (OutputError if another holds it)."""
    handle = open(out / LOCK_NAME, "a")  # noqa: SIM115 - held open for the whole review
    if fcntl is not None:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise OutputError(f"another tfedge review is working in {out}; stop it first or choose "
                              "another --out") from None
    return handle


def read_log(out: Path) -> list[Entry]:
    path = out / LOG_NAME
    if not path.exists():
        return []
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entries.append(Entry.from_line(line))
        except (ValueError, TypeError) as error:
            raise DataError(f"{path} line {number} is not a review decision ({error}); restore the "
                            "file or choose a new --out") from None
    return entries


def append_log(out: Path, entry: Entry) -> None:
    """Add one line to the log: the whole new log is written beside it, then renamed over it."""
    path = out / LOG_NAME
    old = path.read_bytes() if path.exists() else b""

    def write(temp_name: str) -> None:
        with open(temp_name, "wb") as handle:
            handle.write(old + entry.to_line().encode("utf-8") + b"\n")
            handle.flush()
            os.fsync(handle.fileno())

    replace_atomically(path, write)


def image_path(out: Path, label: str, frame_id: str) -> Path:
    return out / label / f"{frame_id}.jpg"


def place_image(out: Path, label: str, frame_id: str, source: Path) -> Path:
    return write_bytes_atomic(image_path(out, label, frame_id), source.read_bytes())


def remove_image(out: Path, label: str, frame_id: str) -> None:
    """Remove a placed image, and its class folder once empty (training refuses empty classes)."""
    image = image_path(out, label, frame_id)
    image.unlink(missing_ok=True)
    try:
        image.parent.rmdir()
    except OSError:  # not empty (or already gone)
        pass


def reconcile(out: Path, decided: dict[str, Entry], known_ids: set[str],
              source_of: dict[str, Path]) -> list[str]:
    """Make the class folders match the decisions in force; one line per repair made.

    Only `<id>.jpg` files of `known_ids` (frames of the collection or the log) are touched.
    """
    repairs = []
    for folder in sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for image in sorted(folder.glob("*.jpg")):
            entry = decided.get(image.stem)
            if image.stem in known_ids and (entry is None or entry.action != LABEL
                                            or entry.label != folder.name):
                remove_image(out, folder.name, image.stem)
                repairs.append(f"removed {folder.name}/{image.name} (not decided so in the log)")
    for frame_id, entry in decided.items():
        if entry.action == LABEL and not image_path(out, entry.label, frame_id).is_file():
            if frame_id in source_of:
                place_image(out, entry.label, frame_id, source_of[frame_id])
                repairs.append(f"restored {entry.label}/{frame_id}.jpg from the collect folder")
            else:
                repairs.append(f"{entry.label}/{frame_id}.jpg is missing and no longer in the "
                               "collect folder")
    return repairs
