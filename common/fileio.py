"""Writing outputs without ever leaving them half-written: temp file or folder, then rename."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
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


def replace_atomically(path: str | Path, write: Callable[[str], object]) -> Path:
    """Call `write(temp_path)` for a new temp file beside `path`, then rename it over `path`.

    The temp file's name is unique and ends with `path`'s name, so writers that insist on a
    suffix (Keras's .weights.h5, numpy's .npz) take it. On any error, or an interruption, the
    temp file is removed and whatever was at `path` is left as it was.
    """
    path = Path(path)
    check_writable_parent(path)
    handle, temp_name = tempfile.mkstemp(prefix=".tmp-", suffix=f"-{path.name}", dir=path.parent)
    os.close(handle)
    try:
        write(temp_name)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return path


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` through a temp file in the same folder and a rename."""
    return replace_atomically(path, lambda temp_name: Path(temp_name).write_bytes(data))


def write_text_atomic(path: str | Path, text: str) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"))


def publish_folder(staging: Path, final: Path) -> None:
    """Rename a finished `staging` folder to `final`, replacing what was there.

    What was there is moved aside first, put back if `staging` cannot take its place, and
    deleted only once it has.
    """
    if final.exists():
        trash = final.with_name(f".{final.name}.old")
        _remove(trash)
        final.rename(trash)
        try:
            staging.rename(final)
        except BaseException:
            trash.rename(final)
            raise
        _remove(trash)
    else:
        staging.rename(final)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


@contextmanager
def staged_folder(final: str | Path, overwrite: bool = False):
    """Yield a temp folder beside `final`; on success it replaces `final`, on error it vanishes.

    Refuses an existing non-empty `final` unless `overwrite`; until the new folder is complete,
    the old one stays as it was.
    """
    final = Path(final)
    if final.exists() and (not final.is_dir() or any(final.iterdir())) and not overwrite:
        raise OutputError(f"{final} already exists and is not empty; choose another folder "
                          "or pass --overwrite")
    check_writable_parent(final)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
    try:
        yield staging
        publish_folder(staging, final)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
