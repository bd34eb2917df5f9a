"""Calibration images for int8: drawn from the training images, stratified across classes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tfedge.edge.card import ModelCard
from tfedge.edge.labelled import load_pixels
from tfedge.errors import DataError

MIN_CALIBRATION_IMAGES = 10


def stratified_sample(items: list[tuple[Path, int]], count: int, seed: int = 0):
    """Up to `count` items with the classes as evenly represented as the data allows."""
    rng = np.random.default_rng(seed)
    by_class: dict[int, list] = {}
    for item in items:
        by_class.setdefault(item[1], []).append(item)
    for members in by_class.values():
        rng.shuffle(members)
    chosen, round_index = [], 0
    while len(chosen) < count and any(round_index < len(m) for m in by_class.values()):
        for label in sorted(by_class):
            if round_index < len(by_class[label]) and len(chosen) < count:
                chosen.append(by_class[label][round_index])
        round_index += 1
    return chosen


def calibration_pixels(items: list[tuple[Path, int]], card: ModelCard, count: int = 500,
                       seed: int = 0) -> np.ndarray:
    """uint8 pixels [N, H, W, C] for calibration, decoded the device's way."""
    pixels, _, _ = load_pixels(stratified_sample(items, count, seed), card)
    if len(pixels) < min(count, MIN_CALIBRATION_IMAGES):
        raise DataError(f"only {len(pixels)} readable calibration images; int8 needs at least "
                        f"{MIN_CALIBRATION_IMAGES}: add training images")
    return pixels
