"""Training settings in one documented dataclass (recorded in runs/NAME/config.json).

The command line's options map one to one onto these fields (`--fine-tune-epochs` sets
`fine_tune_epochs`); an option not given keeps the default here, or the value from `--config`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from tfedge.errors import UsageError


@dataclass
class HParams:
    """Everything that decides what a training run does.

    Attributes:
        backbone: preset key (see `tfedge train --list-backbones`).
        image_size: input side in pixels; None takes the backbone's default.
        color: "auto" (gray when every image is gray and the backbone allows it), "rgb", "gray".
        weights: "imagenet", "none", or a path to a local weights file of the backbone
            (ImageNet backbones; saved from the same preset without its top).
        epochs: stage 1 epochs. For the small CNN, and for any backbone with weights "none",
            the whole network trains from scratch; for a pretrained backbone only the new head
            trains, on the frozen backbone.
        fine_tune_epochs: stage 2 epochs (pretrained backbones): the top `fine_tune_layers`
            layers of the backbone train too, BatchNorm kept in inference mode. 0 skips stage 2.
        fine_tune_layers: how many of the backbone's top layers stage 2 unfreezes (-1: all).
        batch_size: images per step, across all devices and workers.
        learning_rate: Adam learning rate of stage 1 (cosine-decayed over the stage).
        fine_tune_learning_rate: Adam learning rate of stage 2, usually 10-100x lower.
        dropout: dropout before the classifier.
        early_stopping_patience: epochs without a lower validation loss before a stage stops
            (0: never stop early); the weights of the best epoch are kept either way.
        augment: "auto" (on for transfer learning from pretrained weights, off otherwise, e.g.
            for the small CNN on tiny gray images), "on" or "off".
            Random flip, small rotation, zoom, brightness and contrast, in the training input
            pipeline only, never in the exported model.
        flip: which flips augmentation uses: "horizontal", "vertical", "horizontal_and_vertical".
        class_weights: weigh each class's loss by N / (classes * class count), so rare
            classes count as much as common ones.
        val_split: fraction of each class held out for validation when DATA_DIR has no val/.
        seed: seed for the split, shuffling, augmentation and initialisation.
        mixed_precision: "auto" (float16 compute on a GPU, float32 on a CPU), "on", "off".
        xla: "auto" (XLA on a GPU), "on", "off".
        strategy: "auto" (multi-worker when TF_CONFIG is set, mirrored across several GPUs,
            else one device), "default", "mirrored" (every GPU, else every CPU device),
            "multi-worker".
        max_train_seconds: stop starting epochs once the next one would end after this
            many seconds of training (None: no limit).
    """

    backbone: str = "small_cnn"
    image_size: int | None = None
    color: str = "auto"
    weights: str = "none"
    epochs: int = 10
    fine_tune_epochs: int = 5
    fine_tune_layers: int = 30
    batch_size: int = 64
    learning_rate: float = 1e-3
    fine_tune_learning_rate: float = 1e-5
    dropout: float = 0.2
    early_stopping_patience: int = 3
    augment: str = "auto"
    flip: str = "horizontal"
    class_weights: bool = True
    val_split: float = 0.2
    seed: int = 42
    mixed_precision: str = "auto"
    xla: str = "auto"
    strategy: str = "auto"
    max_train_seconds: float | None = None

    def __post_init__(self) -> None:
        choices = {"color": ("auto", "rgb", "gray"), "augment": ("auto", "on", "off"),
                   "mixed_precision": ("auto", "on", "off"), "xla": ("auto", "on", "off"),
                   "strategy": ("auto", "default", "mirrored", "multi-worker"),
                   "flip": ("horizontal", "vertical", "horizontal_and_vertical")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise UsageError(f"{name} {getattr(self, name)!r} is not one of {', '.join(allowed)}")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
        if self.fine_tune_epochs < 0 or self.early_stopping_patience < 0:
            raise UsageError("--fine-tune-epochs and --early-stopping-patience cannot be negative")
        if not 0 <= self.dropout < 1:
            raise UsageError("--dropout must be in [0, 1)")
        if self.learning_rate <= 0 or self.fine_tune_learning_rate <= 0:
            raise UsageError("learning rates must be positive")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, data: dict) -> HParams:
        known = set(cls.field_names())
        return cls(**{k: v for k, v in data.items() if k in known})
