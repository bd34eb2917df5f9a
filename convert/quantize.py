"""Quantization modes: each one configures a TFLiteConverter (factories, one per mode).

Our models take plain 0..255 pixels with their scaling as the first layer of the graph, so a
full-integer model's uint8 input has scale 1 and zero point 0: camera bytes go in unchanged,
with no rounding step on the device and no input statistics to get wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported when used: `tfedge convert`'s parser reads the modes here
    import numpy as np

IO_TYPES = ("uint8", "int8")
# training images (stratified across classes) that calibrate a full-integer model by default
DEFAULT_CALIBRATION_IMAGES = 500


class Quantization(Enum):
    """A conversion mode; its value is the name used on the command line and in file names."""

    FLOAT32 = "float32"  # no quantization: the reference
    FLOAT16 = "float16"  # float16 weights (half the size), float32 compute
    DYNAMIC = "dynamic"  # int8 weights, float activations, no calibration
    INT8 = "int8"  # full-integer: int8 weights and activations, uint8/int8 input and output
    EDGETPU = "edgetpu"  # INT8 made for the Edge TPU compiler (then compiled when it is installed)

    @property
    def needs_calibration(self) -> bool:
        return self in (Quantization.INT8, Quantization.EDGETPU)

    @property
    def full_integer(self) -> bool:
        return self.needs_calibration


def representative_dataset(calibration: Callable[[], Iterable[np.ndarray]]):
    """The converter's representative dataset: one float32 batch of 0..255 pixels per image."""
    import numpy as np

    def generate():
        first = True
        for pixels in calibration():
            pixels = np.asarray(pixels, dtype=np.float32)
            if first:  # the first image once more with one black and one white pixel: the uint8
                # input's range is then every byte (scale 1, zero point 0) even when no training
                # image is black or white, as MediaPipe and other readers feed raw pixel bytes;
                # two pixels hardly move the ranges of the layers behind
                span = pixels.copy()
                span[0, 0], span[-1, -1] = 0.0, 255.0
                yield [span[None]]
                first = False
            yield [pixels[None]]

    return generate


def _float32(tf, converter, calibration, io_type) -> None:
    return None


def _float16(tf, converter, calibration, io_type) -> None:
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]


def _dynamic(tf, converter, calibration, io_type) -> None:
    converter.optimizations = [tf.lite.Optimize.DEFAULT]


def _full_integer(tf, converter, calibration: Callable[[], Iterable[np.ndarray]], io_type: str) -> None:
    """int8 weights (per-channel) and activations, `io_type` input (camera bytes) and output."""
    if io_type not in IO_TYPES:
        raise ValueError(f"io type {io_type!r} is not one of {IO_TYPES}")
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative_dataset(calibration)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = getattr(tf, io_type)
    converter.inference_output_type = getattr(tf, io_type)


CONFIGURE = {
    Quantization.FLOAT32: _float32,
    Quantization.FLOAT16: _float16,
    Quantization.DYNAMIC: _dynamic,
    Quantization.INT8: _full_integer,
    Quantization.EDGETPU: _full_integer,  # plus a static batch of 1 (see convert.convert)
}
