"""Quantization modes: each one configures a TFLiteConverter (factories, one per mode)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import Enum

import numpy as np


class Quantization(Enum):
    FLOAT32 = "float32"
    INT8 = "int8"

    @property
    def needs_calibration(self) -> bool:
        return self is Quantization.INT8


def _float32(tf, converter, calibration) -> None:
    return None


def _int8(tf, converter, calibration: Callable[[], Iterable[np.ndarray]]) -> None:
    """Full-integer: int8 weights and activations, uint8 input (camera bytes) and output."""

    def representative_dataset():
        for pixels in calibration():
            yield [pixels[None].astype(np.float32)]

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative_dataset
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.uint8
    converter.inference_output_type = tf.uint8


CONFIGURE = {Quantization.FLOAT32: _float32, Quantization.INT8: _int8}
