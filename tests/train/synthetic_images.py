"""Small synthetic image folders for tests about mechanics (not accuracy)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def write_class_images(folder: Path, count: int, pattern: int, size: int = 24, color: bool = True,
                       seed: int = 0) -> list[Path]:
    """`count` noisy images whose bright quadrant (`pattern` 0..3) tells their class."""
    rng = np.random.default_rng(seed + 97 * pattern)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    half = size // 2
    for i in range(count):
        image = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
        row, col = divmod(pattern % 4, 2)
        image[row * half:(row + 1) * half, col * half:(col + 1) * half] += 150
        if color:
            image[..., pattern % 3] = np.clip(image[..., pattern % 3].astype(int) + 40, 0, 255)
        else:
            image[...] = image[..., :1]
        path = folder / f"{i:03d}.png"
        cv2.imwrite(str(path), image)
        paths.append(path)
    return paths
