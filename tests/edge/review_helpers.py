"""Collect folders for the review tests: real JPEGs (cv2.imencode) and sidecars written through
tfedge.edge.collection, as `tfedge run --collect` writes them."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from tfedge.edge.collection import CollectedFrame, frame_files

LABELS = ["T-shirt", "Trouser", "Pullover"]


def jpeg(seed: int, size: int = 32) -> bytes:
    """A small real JPEG whose pixels differ by seed (a gradient and a block)."""
    image = np.zeros((size, size, 3), np.uint8)
    image[:] = ((seed * 40) % 256, (seed * 90) % 256, 128)
    image[4:16, 4 + seed % 12:16 + seed % 12] = 255
    ok, buffer = cv2.imencode(".jpg", image)
    assert ok
    return buffer.tobytes()


def collected(index: int, informativeness: float, label: str = "T-shirt",
              labels: list[str] = LABELS) -> CollectedFrame:
    others = [name for name in labels if name != label]
    return CollectedFrame(
        id=f"{1700000000000 + index * 100}-{index}", timestamp=1700000000.0 + index / 10, frame=index,
        label=label, score=0.5, top_k=[[label, 0.5], [others[0], 0.4]], margin=0.1,
        stable_label=others[0], model_sha256="ab" * 32, labels=list(labels), reason="low_margin",
        informativeness=informativeness)


def write_frame(folder: Path, frame: CollectedFrame, seed: int) -> None:
    full, view, sidecar = frame_files(folder, frame.id)
    full.write_bytes(jpeg(seed, 48))
    view.write_bytes(jpeg(seed, 16))
    sidecar.write_text(frame.to_json())


def make_collection(folder: Path, count: int = 5) -> list[CollectedFrame]:
    """`count` frames; informativeness rises with the index, so review order is the reverse."""
    folder.mkdir(parents=True, exist_ok=True)
    frames = [collected(i, informativeness=i / count, label=LABELS[i % len(LABELS)])
              for i in range(count)]
    for i, frame in enumerate(frames):
        write_frame(folder, frame, seed=i)
    return frames
