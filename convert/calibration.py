"""Calibration images for the full-integer modes: training images, stratified across classes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tfedge.convert.quantize import DEFAULT_CALIBRATION_IMAGES
from tfedge.edge.card import ModelCard
from tfedge.edge.labelled import load_pixels
from tfedge.errors import DataError, UsageError
from tfedge.progress import progress

MIN_CALIBRATION_IMAGES = 10
_CHUNK = 64


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


def calibration_pixels(items: list[tuple[Path, int]], card: ModelCard,
                       count: int = DEFAULT_CALIBRATION_IMAGES, seed: int = 0,
                       stream=None) -> np.ndarray:
    """uint8 pixels [N, H, W, C] for calibration, decoded the device's way, with a progress bar.

    Raises UsageError for a `count` below the minimum and DataError when the training images
    hold fewer readable images than the minimum.
    """
    if count < MIN_CALIBRATION_IMAGES:
        raise UsageError(f"--calibration-images {count} is too few; use at least "
                         f"{MIN_CALIBRATION_IMAGES} (default {DEFAULT_CALIBRATION_IMAGES})")
    chosen = stratified_sample(items, count, seed)
    chunks = [chosen[i:i + _CHUNK] for i in range(0, len(chosen), _CHUNK)]
    loaded = [load_pixels(chunk, card)[0]
              for chunk in progress(chunks, len(chosen), "reading calibration images", stream, len)]
    pixels = np.concatenate(loaded) if loaded else np.zeros((0, *card.input_size, card.channels), np.uint8)
    if len(pixels) < MIN_CALIBRATION_IMAGES:
        raise DataError(f"only {len(pixels)} readable training images for calibration; the "
                        f"full-integer modes need at least {MIN_CALIBRATION_IMAGES}: add training images")
    return pixels
