"""Backbone presets: each carries its input size, pixel scaling and Edge TPU fitness (one place).

Every model takes plain 0..255 pixels; the preset's scaling is the first layer of the graph,
so the device never has to know it and an int8 model takes camera bytes as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True)
class BackboneSpec:
    """Facts about one backbone preset.

    Attributes:
        key: the name used on the command line.
        default_input_size: input side in pixels when --image-size is not given.
        min_input_size / max_input_size: sides the architecture accepts.
        scale, offset: in-graph pixel scaling, x * scale + offset.
        edgetpu_friendly: every op maps to the Edge TPU after int8 quantization.
        supports_grayscale: can take one channel (ImageNet backbones need three).
        alpha: width multiplier for MobileNet presets.
    """

    key: str
    default_input_size: int
    min_input_size: int
    max_input_size: int
    scale: float
    offset: float
    edgetpu_friendly: bool
    supports_grayscale: bool
    alpha: float | None = None


class Backbone(Enum):
    SMALL_CNN = BackboneSpec("small_cnn", 28, 16, 128, 1 / 255.0, 0.0, True, True)
    MOBILENET_V2 = BackboneSpec("mobilenet_v2", 224, 32, 224, 1 / 127.5, -1.0, True, False, 1.0)
    MOBILENET_V2_035 = BackboneSpec("mobilenet_v2_035", 96, 32, 224, 1 / 127.5, -1.0, True, False,
                                    0.35)

    @property
    def spec(self) -> BackboneSpec:
        return self.value

    @classmethod
    def from_key(cls, key: str) -> Backbone:
        for backbone in cls:
            if backbone.spec.key == key:
                return backbone
        raise ValueError(f"unknown backbone {key!r}; choose one of {', '.join(keys())}")


def keys() -> list[str]:
    return [backbone.spec.key for backbone in Backbone]
