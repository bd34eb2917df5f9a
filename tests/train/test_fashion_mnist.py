import gzip
from pathlib import Path

import numpy as np
import pytest

from tfedge.errors import DataError, OutputError
from tfedge.main import main
from tfedge.train.fashion_mnist import CLASS_NAMES, FOLDER_NAMES, export, read_idx


def test_folder_names_are_the_dataset_names_made_safe():
    assert FOLDER_NAMES[0] == "T-shirt_top" and FOLDER_NAMES[9] == "Ankle_boot"
    assert len(set(FOLDER_NAMES)) == len(CLASS_NAMES) == 10
    assert all("/" not in name and " " not in name for name in FOLDER_NAMES)


def write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as stream:
        stream.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def idx_dir(tmp_path):
    """Four tiny IDX files in the official layout: 3 images of each class per split."""
    folder = tmp_path / "idx"
    folder.mkdir()
    labels = np.repeat(np.arange(10), 3)
    images = np.stack([np.full((28, 28), label * 20, np.uint8) for label in labels])
    for prefix in ("train", "t10k"):
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return folder


def test_read_idx_round_trip(idx_dir):
    images = read_idx(idx_dir / "train-images-idx3-ubyte.gz")
    assert images.shape == (30, 28, 28) and images[3, 0, 0] == 20


def test_truncated_idx_is_a_data_error(tmp_path):
    path = tmp_path / "x-idx1-ubyte"
    path.write_bytes(bytes([0, 0, 8, 1]) + (100).to_bytes(4, "big") + b"\1" * 10)
    with pytest.raises(DataError, match="truncated"):
        read_idx(path)


def test_export_from_dir_with_limit(idx_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["data", "fashion-mnist", str(out), "--from", str(idx_dir),
                 "--limit-per-class", "2"]) == 0
    for split in ("train", "test"):
        folders = sorted(p.name for p in (out / split).iterdir())
        assert folders == sorted(FOLDER_NAMES)
        assert all(len(list((out / split / f).glob("*.png"))) == 2 for f in folders)


def test_export_refuses_a_non_empty_folder(idx_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(OutputError):
        export(out, idx_dir)
    assert (out / "keep.txt").read_text() == "mine"


def test_a_failed_overwrite_keeps_the_old_folder(idx_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    (idx_dir / "t10k-labels-idx1-ubyte.gz").unlink()  # the test split fails after train is written
    with pytest.raises(DataError, match="is missing"):
        export(out, idx_dir, overwrite=True)
    assert (out / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx", "out"]


def test_the_old_folder_stays_until_the_new_one_takes_its_place(idx_dir, tmp_path, monkeypatch):
    """A rename that fails at the last step (a full or read-only disk) leaves the old export."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    rename = Path.rename

    def failing_rename(self, target):
        if self.name.endswith(".partial"):
            raise OSError(30, "Read-only file system")
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", failing_rename)
    with pytest.raises(OSError, match="Read-only"):
        export(out, idx_dir, limit_per_class=1, overwrite=True)
    assert (out / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx", "out"]


def test_missing_from_dir_is_one_line(tmp_path, capsys):
    assert main(["data", "fashion-mnist", str(tmp_path / "o"), "--from", str(tmp_path / "no")]) == 3
    assert "no such folder" in capsys.readouterr().err


def test_export_of_the_real_dataset(fashion_dir):
    assert len(list((fashion_dir / "train" / "Sneaker").glob("*.png"))) == 60
