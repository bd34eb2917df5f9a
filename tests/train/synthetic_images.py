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


HUES = {"red": 0, "green": 60, "blue": 120}  # OpenCV hue (0..180): three well-separated colours


def write_hue_images(root: Path, count: int, size: int = 32, seed: int = 0) -> Path:
    """A colour set: one folder per hue in HUES, `count` noisy images each (any shade, any pattern).

    Trivially learnable (the mean colour tells the class), so a model that ends near chance
    on it has a bug, not too little data.
    """
    rng = np.random.default_rng(seed)
    for name, hue in HUES.items():
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            hsv = np.empty((size, size, 3), np.float32)
            hsv[..., 0] = (hue + rng.uniform(-5, 5) + rng.normal(0, 1, (size, size))) % 180
            hsv[..., 1] = np.clip(rng.uniform(150, 255) + rng.normal(0, 6, (size, size)), 0, 255)
            hsv[..., 2] = np.clip(rng.uniform(110, 255) + rng.normal(0, 6, (size, size)), 0, 255)
            image = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)
            cv2.imwrite(str(folder / f"{i:03d}.png"), image)
    return root
