"""Frame sources behind one interface: `read() -> (ok, frame)`, `release()`, `live`, `describe()`.

A source spec is a camera index ("0"), a video file, an RTSP/HTTP URL, or a folder of images.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from tfedge.edge.preprocess import IMAGE_SUFFIXES, decode_image
from tfedge.errors import SourceError


class VideoSource:
    """A camera index, video file or stream URL, read through OpenCV's VideoCapture."""

    def __init__(self, spec: str | int) -> None:
        self.spec = spec
        self.live = isinstance(spec, int) or "://" in str(spec)
        self.capture = cv2.VideoCapture(spec)
        if not self.capture.isOpened():
            self.capture.release()
            what = "camera" if isinstance(spec, int) else "video"
            raise SourceError(
                f"cannot open {what} {spec!r}; check the path or device index "
                "(a video file must exist and be decodable)"
            )

    def read(self) -> tuple[bool, np.ndarray | None]:
        return self.capture.read()

    def release(self) -> None:
        self.capture.release()

    def describe(self) -> dict:
        return {
            "source": str(self.spec),
            "width": int(self.capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            "height": int(self.capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            "fps": round(float(self.capture.get(cv2.CAP_PROP_FPS)), 2),
        }


class FolderSource:
    """Every image in a folder (sorted, recursively), one frame each."""

    live = False

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.paths = sorted(
            p for p in self.folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
        )
        if not self.paths:
            raise SourceError(f"{self.folder}: no images found (looked for {', '.join(IMAGE_SUFFIXES)})")
        self.position = 0
        self.current_path: Path | None = None

    def read(self) -> tuple[bool, np.ndarray | None]:
        while self.position < len(self.paths):
            path = self.paths[self.position]
            self.position += 1
            try:
                frame = decode_image(path)
            except ValueError:
                continue
            self.current_path = path
            return True, frame
        return False, None

    def release(self) -> None:
        self.position = len(self.paths)

    def describe(self) -> dict:
        return {"source": str(self.folder), "images": len(self.paths)}


def open_source(spec: str | int):
    """Open a frame source from a CLI spec: digits are a camera index."""
    if isinstance(spec, str) and spec.isdigit():
        spec = int(spec)
    if isinstance(spec, str) and "://" not in spec:
        path = Path(spec)
        if path.is_dir():
            return FolderSource(path)
        if not path.exists():
            raise SourceError(f"{spec}: no such video file or folder; check the path")
    return VideoSource(spec)
