"""common/fileio.py: a write either lands whole or leaves what was there, and no temp file."""

import os

import pytest

from tfedge.errors import OutputError
from tfedge.fileio import replace_atomically, staged_folder, write_bytes_atomic


def test_a_failed_write_removes_its_temp_file_and_keeps_the_old_one(tmp_path):
    target = tmp_path / "last.weights.h5"
    target.write_bytes(b"old")
    seen = []

    def broken_writer(temp_name):
        seen.append(temp_name)
        open(temp_name, "wb").write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        replace_atomically(target, broken_writer)
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["last.weights.h5"]
    assert os.path.dirname(seen[0]) == str(tmp_path) and seen[0].endswith("-last.weights.h5")


def test_temp_names_are_unique_and_keep_the_suffix_writers_insist_on(tmp_path):
    """Keras wants .weights.h5 and numpy .npz at the end; two writers at once never share a file."""
    names = []

    def outer(temp_name):
        names.append(temp_name)
        replace_atomically(tmp_path / "optimizer.npz", inner)
        open(temp_name, "wb").write(b"outer")

    def inner(temp_name):
        names.append(temp_name)
        open(temp_name, "wb").write(b"inner")

    replace_atomically(tmp_path / "optimizer.npz", outer)
    assert len(set(names)) == 2 and all(name.endswith("optimizer.npz") for name in names)
    assert (tmp_path / "optimizer.npz").read_bytes() == b"outer"
    assert os.listdir(tmp_path) == ["optimizer.npz"]


def test_write_bytes_atomic(tmp_path):
    assert write_bytes_atomic(tmp_path / "sub" / "m.tflite", b"model").read_bytes() == b"model"


def test_a_staged_folder_that_fails_leaves_the_old_one_and_no_staging(tmp_path):
    final = tmp_path / "out"
    final.mkdir()
    (final / "old.txt").write_text("mine")
    with pytest.raises(RuntimeError), staged_folder(final, overwrite=True) as staging:
        (staging / "new.txt").write_text("half")
        raise RuntimeError("export failed")
    assert os.listdir(tmp_path) == ["out"] and os.listdir(final) == ["old.txt"]


def test_a_staged_folder_replaces_the_old_one_when_done(tmp_path):
    final = tmp_path / "out"
    final.mkdir()
    (final / "old.txt").write_text("mine")
    with pytest.raises(OutputError, match="--overwrite"), staged_folder(final):
        pass
    with staged_folder(final, overwrite=True) as staging:
        (staging / "new.txt").write_text("new")
    assert os.listdir(tmp_path) == ["out"] and os.listdir(final) == ["new.txt"]
