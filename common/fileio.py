"""Writing outputs without ever leaving them half-written: temp file or folder, then rename."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from tfedge.errors import OutputError


def check_writable_parent(path: Path) -> None:
    parent = Path(path).resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create {parent} ({error.strerror}); choose a writable "
                          "output location") from None
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{parent} is not writable; choose a writable output location")


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` through a temp file in the same folder and a rename."""
    path = Path(path)
    check_writable_parent(path)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: str | Path, text: str) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"))


def publish_folder(staging: Path, final: Path) -> None:
    """Rename a finished `staging` folder to `final`, replacing what was there."""
    if final.exists():
        trash = final.with_name(f".{final.name}.old")
        shutil.rmtree(trash, ignore_errors=True)
        final.rename(trash)
        staging.rename(final)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        staging.rename(final)


@contextmanager
def staged_folder(final: str | Path, overwrite: bool = False):
    """Yield a temp folder beside `final`; on success it replaces `final`, on error it vanishes.

    Refuses an existing non-empty `final` unless `overwrite`.
    """
    final = Path(final)
    if final.exists() and (not final.is_dir() or any(final.iterdir())) and not overwrite:
        raise OutputError(f"{final} already exists; choose another --out or pass --overwrite")
    check_writable_parent(final)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
    try:
        yield staging
        publish_folder(staging, final)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
