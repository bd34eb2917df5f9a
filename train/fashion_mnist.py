"""Fashion-MNIST as an image folder: OUT/train/<class>/*.png and OUT/test/<class>/*.png."""

from __future__ import annotations

import gzip
import urllib.request
from pathlib import Path

import numpy as np

from tfedge.errors import DataError, DependencyError
from tfedge.fileio import staged_folder

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
DOWNLOAD_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
# The dataset's own class names, in label order, and their filesystem-safe folder names.
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def safe_name(name: str) -> str:
    """A class name usable as a folder name on every OS ("T-shirt/top" -> "T-shirt_top")."""
    return "".join(c if c.isalnum() or c in "-_ " else "_" for c in name).strip().replace(" ", "_")


FOLDER_NAMES = [safe_name(name) for name in CLASS_NAMES]


def read_idx(path: Path) -> np.ndarray:
    """Read a (gzipped) IDX file into an array of its declared shape."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        data = stream.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DataError(f"{path}: not an unsigned-byte IDX file")
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    array = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims)
    if array.size != int(np.prod(shape)):
        raise DataError(f"{path}: truncated IDX file ({array.size} values for shape {shape})")
    return array.reshape(shape)


def _find(name: str, source_dir: Path | None) -> Path | None:
    for folder in ([source_dir] if source_dir else [DEBIAN_DIR]):
        for candidate in (folder / name, folder / name.removesuffix(".gz")):
            if candidate.exists():
                return candidate
    return None


def _download(name: str, cache_dir: Path) -> Path:
    target = cache_dir / name
    if target.exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(DOWNLOAD_URL + name, timeout=30) as response:
            partial = target.with_suffix(".part")
            partial.write_bytes(response.read())
            partial.replace(target)
    except OSError as error:
        raise DependencyError(
            f"Fashion-MNIST is not installed and cannot be downloaded ({error}); "
            "install it with `apt-get install dataset-fashion-mnist` or pass --from DIR "
            "with the four IDX files"
        ) from None
    return target


def load_split(split: str, source_dir: Path | None = None, cache_dir: Path | None = None):
    """(images uint8 [N, 28, 28], labels uint8 [N]) of the train or test split."""
    if source_dir is not None and not source_dir.is_dir():
        raise DataError(f"--from {source_dir}: no such folder; give the folder with the IDX files")
    paths = []
    for name in FILES[split]:
        path = _find(name, source_dir)
        if path is None and source_dir is not None:
            raise DataError(f"{source_dir}: {name} is missing; the folder needs all four IDX files")
        paths.append(path or _download(name, cache_dir or Path.home() / ".cache" / "tfedge"))
    images, labels = read_idx(paths[0]), read_idx(paths[1])
    if len(images) != len(labels):
        raise DataError(f"{split}: {len(images)} images but {len(labels)} labels")
    return images, labels


def export(out_dir: Path, source_dir: Path | None = None, limit_per_class: int | None = None,
           overwrite: bool = False) -> dict:
    """Write both splits as PNG folders; returns {split: {class: count}}."""
    import cv2

    out_dir = Path(out_dir)
    if limit_per_class is not None and limit_per_class < 1:
        raise DataError(f"--limit-per-class {limit_per_class}: must be at least 1")
    counts: dict = {}
    with staged_folder(out_dir, overwrite) as staging:
        for split in FILES:
            images, labels = load_split(split, source_dir)
            counts[split] = {}
            for class_index, folder_name in enumerate(FOLDER_NAMES):
                folder = staging / split / folder_name
                folder.mkdir(parents=True)
                indexes = np.flatnonzero(labels == class_index)[:limit_per_class]
                for i in indexes:
                    cv2.imwrite(str(folder / f"{split}_{i:05d}.png"), images[i])
                counts[split][folder_name] = len(indexes)
    return counts
