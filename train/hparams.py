"""Training settings in one documented dataclass (recorded in runs/NAME/config.json)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass
class HParams:
    """Everything that decides what a training run does.

    Attributes:
        backbone: preset key (see `tfedge train --list-backbones`).
        image_size: input side in pixels; None takes the backbone's default.
        color: "auto" (gray when every image is gray and the backbone allows it), "rgb", "gray".
        weights: "imagenet", "none", or a path to a local weights file (ImageNet backbones).
        epochs: passes over the training images.
        batch_size: images per step.
        learning_rate: Adam learning rate.
        val_split: fraction of each class held out for validation when DATA_DIR has no val/.
        seed: seed for the split, shuffling and initialisation.
    """

    backbone: str = "small_cnn"
    image_size: int | None = None
    color: str = "auto"
    weights: str = "none"
    epochs: int = 5
    batch_size: int = 64
    learning_rate: float = 1e-3
    val_split: float = 0.2
    seed: int = 42

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> HParams:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
