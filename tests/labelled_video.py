"""A real encoded video made of labelled images, with the label of every frame beside it.

Used by the tests (the `labelled_video` fixture, the web and MQTT tests, the device suite),
`make demo` and `make test-pi`'s fixtures to drive `tfedge run` with a video whose truth is
known. Not part of the package: scripts put this folder on sys.path to import it.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2

from tfedge.edge.preprocess import decode_image
from tfedge.errors import OutputError


def write_labelled_video(items: list[tuple[Path, str]], path: str | Path, frame_size: int = 112,
                         frames_per_image: int = 1, fps: float = 30.0) -> Path:
    """Encode each (image path, label) as `frames_per_image` frames of an MP4 (mpeg4) video.

    Writes `path` and `path` + ".labels.json" (the label of every frame, in order).
    """
    images = ((cv2.resize(decode_image(image_path), (frame_size, frame_size),
                          interpolation=cv2.INTER_NEAREST), label) for image_path, label in items)
    return write_frames_video(images, path, frame_size, frames_per_image, fps)


def write_frames_video(images, path: str | Path, frame_size: int, frames_per_image: int = 1,
                       fps: float = 30.0) -> Path:
    """Encode each (BGR image of frame_size x frame_size, label) as `frames_per_image` frames."""
    path = Path(path)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                             (frame_size, frame_size))
    if not writer.isOpened():
        raise OutputError(f"{path}: OpenCV cannot write an MP4 video here")
    labels = []
    try:
        for frame, label in images:
            for _ in range(frames_per_image):
                writer.write(frame)
                labels.append(label)
    finally:
        writer.release()
    labels_path(path).write_text(json.dumps(labels) + "\n")
    return path


def labels_path(video: str | Path) -> Path:
    return Path(str(video) + ".labels.json")


def read_frame_labels(video: str | Path) -> list[str]:
    return json.loads(labels_path(video).read_text())
