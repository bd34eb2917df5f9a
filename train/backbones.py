"""Backbone presets: each carries its input size, pixel scaling and Edge TPU fitness (one place).

Every model takes plain 0..255 pixels (card mean 0, std 1); the preset's scaling is the first
layer of the graph, so the device never has to know it and an int8 model takes camera bytes as
they are. EfficientNetB0 is the one preset whose scaling Keras builds into the backbone itself
(Rescaling 1/255 and ImageNet Normalization layers); there our first layer is the identity and
the model still takes 0..255 pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

# Sides for which Keras publishes ImageNet weights of MobileNetV2 (other sides fall back to 224's).
MOBILENET_V2_IMAGENET_SIDES = (96, 128, 160, 192, 224)


@dataclass(frozen=True)
class BackboneSpec:
    """Facts about one backbone preset.

    Attributes:
        key: the name used on the command line.
        application: the `keras.applications` constructor, or None for our own small CNN.
        default_input_size: input side in pixels when --image-size is not given.
        min_input_size / max_input_size: sides the preset accepts.
        scale, offset: in-graph pixel scaling of the first layer, x * scale + offset.
        scaling_note: how pixels reach the backbone, in words (--list-backbones, README).
        edgetpu_friendly: every op maps to the Edge TPU after int8 quantization.
        supports_grayscale: can take one channel (ImageNet backbones need three).
        parameters: weights of the backbone without its head, at the default input size
            (a test checks the figure).
        alpha: width multiplier for MobileNet presets.
        minimalistic: MobileNetV3 without squeeze-excite and hard-swish (suits the Edge TPU).
        imagenet_sides: input sides with published ImageNet weights (empty: any side / none).
    """

    key: str
    application: str | None
    default_input_size: int
    min_input_size: int
    max_input_size: int
    scale: float
    offset: float
    scaling_note: str
    edgetpu_friendly: bool
    supports_grayscale: bool
    parameters: int
    alpha: float | None = None
    minimalistic: bool = False
    imagenet_sides: tuple[int, ...] = ()

    @property
    def has_imagenet_weights(self) -> bool:
        return self.application is not None

    @property
    def float32_megabytes(self) -> float:
        return self.parameters * 4 / 1e6


_MINUS_ONE_TO_ONE = "x/127.5 - 1 in the first layer"


def _mobilenet_v2(key: str, alpha: float, size: int, parameters: int) -> BackboneSpec:
    return BackboneSpec(key, "MobileNetV2", size, 32, 224, 1 / 127.5, -1.0, _MINUS_ONE_TO_ONE, True,
                        False, parameters, alpha, imagenet_sides=MOBILENET_V2_IMAGENET_SIDES)


def _mobilenet_v3(key: str, application: str, minimalistic: bool, parameters: int) -> BackboneSpec:
    return BackboneSpec(key, application, 224, 32, 224, 1 / 127.5, -1.0, _MINUS_ONE_TO_ONE,
                        minimalistic, False, parameters, 1.0, minimalistic)


class Backbone(Enum):
    SMALL_CNN = BackboneSpec("small_cnn", None, 28, 16, 128, 1 / 255.0, 0.0,
                             "x/255 in the first layer", True, True, 420_640)
    MOBILENET_V2_035 = _mobilenet_v2("mobilenet_v2_035", 0.35, 96, 410_208)
    MOBILENET_V2_050 = _mobilenet_v2("mobilenet_v2_050", 0.5, 128, 706_224)
    MOBILENET_V2_075 = _mobilenet_v2("mobilenet_v2_075", 0.75, 160, 1_382_064)
    MOBILENET_V2 = _mobilenet_v2("mobilenet_v2", 1.0, 224, 2_257_984)
    MOBILENET_V3_SMALL = _mobilenet_v3("mobilenet_v3_small", "MobileNetV3Small", False, 939_120)
    MOBILENET_V3_SMALL_MINIMALISTIC = _mobilenet_v3("mobilenet_v3_small_minimalistic",
                                                    "MobileNetV3Small", True, 441_000)
    MOBILENET_V3_LARGE = _mobilenet_v3("mobilenet_v3_large", "MobileNetV3Large", False, 2_996_352)
    MOBILENET_V3_LARGE_MINIMALISTIC = _mobilenet_v3("mobilenet_v3_large_minimalistic",
                                                    "MobileNetV3Large", True, 1_437_608)
    EFFICIENTNET_B0 = BackboneSpec("efficientnet_b0", "EfficientNetB0", 224, 32, 224, 1.0, 0.0,
                                   "inside the backbone (Rescaling 1/255, ImageNet Normalization)",
                                   False, False, 4_049_571)

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


def table() -> str:
    """The presets as a text table (`tfedge train --list-backbones`)."""
    rows = [("preset", "input", "parameters", "float32 MB", "Edge TPU", "gray", "pixel scaling")]
    for backbone in Backbone:
        spec = backbone.spec
        rows.append((spec.key, f"{spec.default_input_size} ({spec.min_input_size}-{spec.max_input_size})",
                     f"{spec.parameters:,}", f"{spec.float32_megabytes:.1f}",
                     "yes" if spec.edgetpu_friendly else "no", "yes" if spec.supports_grayscale else "no",
                     spec.scaling_note))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
                     for row in rows)
