"""Frame (BGR from OpenCV) to input tensor: the ONLY place that knows colour order and scaling.

Training, evaluation, conversion calibration and the device runtime all go through these
functions, so every stage sees the same pixels.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from tfedge.edge.card import ModelCard

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")


def decode_image(path: str | Path) -> np.ndarray:
    """Read an image file as an 8-bit BGR frame, the way a camera delivers one.

    Grayscale, RGBA, 16-bit and CMYK files are converted; EXIF orientation is applied.
    Raises ValueError when the file cannot be decoded as an image.
    """
    data = np.fromfile(str(path), dtype=np.uint8)
    frame = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if frame is None and Path(path).suffix.lower() == ".gif":
        capture = cv2.VideoCapture(str(path))
        ok, frame = capture.read()
        capture.release()
        frame = frame if ok else None
    if frame is None:
        raise ValueError(f"{path}: not a decodable image")
    return frame


def _to_bgr(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    if frame.shape[2] == 1:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    return frame


def _center_crop(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    frame_h, frame_w = frame.shape[:2]
    target_ratio = width / height
    if frame_w / frame_h > target_ratio:
        new_w = max(1, round(frame_h * target_ratio))
        left = (frame_w - new_w) // 2
        return frame[:, left : left + new_w]
    new_h = max(1, round(frame_w / target_ratio))
    top = (frame_h - new_h) // 2
    return frame[top : top + new_h]


def to_pixels(frame: np.ndarray, card: ModelCard) -> np.ndarray:
    """Resize a BGR (or gray/BGRA) uint8 frame and order its channels as the model expects.

    Returns uint8 of shape (height, width, channels).
    """
    if frame.dtype != np.uint8:
        raise TypeError(f"frames must be uint8, got {frame.dtype}")
    height, width = card.input_size
    if card.resize == "center_crop":
        frame = _center_crop(frame, height, width)
    if frame.shape[0] != height or frame.shape[1] != width:
        shrinking = frame.shape[0] >= height and frame.shape[1] >= width
        interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        frame = cv2.resize(frame, (width, height), interpolation=interpolation)
    if card.color_order == "GRAY":
        gray = frame if frame.ndim == 2 else cv2.cvtColor(_to_bgr(frame), cv2.COLOR_BGR2GRAY)
        return gray[:, :, None]
    frame = _to_bgr(frame)
    if card.color_order == "RGB":
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    return frame


def _identity_quantization(card: ModelCard, scale: float, zero_point: int) -> bool:
    """True when normalizing then quantizing uint8 pixels would give back the pixels themselves."""
    if not scale:
        return False
    return all(abs(m - zero_point) < 1e-6 for m in card.mean) and all(
        abs(s * scale - 1.0) < 1e-3 for s in card.std
    )


def to_input(pixels: np.ndarray, card: ModelCard, input_detail: dict) -> np.ndarray:
    """Turn uint8 pixels (H, W, C) into the model's input tensor (1, H, W, C) of its dtype.

    `input_detail` is one entry of `interpreter.get_input_details()` (dtype, quantization).
    """
    dtype = np.dtype(input_detail["dtype"])
    scale, zero_point = input_detail.get("quantization", (0.0, 0)) or (0.0, 0)
    batch = pixels[None]
    if dtype == np.uint8 and _identity_quantization(card, scale, zero_point):
        return batch
    values = batch.astype(np.float32)
    mean = np.asarray(card.mean, dtype=np.float32)
    std = np.asarray(card.std, dtype=np.float32)
    if mean.any():
        values -= mean
    if (std != 1).any():
        values /= std
    if dtype in (np.uint8, np.int8):
        info = np.iinfo(dtype)
        values /= scale  # in place: no temporary arrays the size of the input
        values += zero_point
        np.round(values, out=values)
        np.clip(values, info.min, info.max, out=values)
        return values.astype(dtype)
    return values.astype(dtype, copy=False)


def preprocess(frame: np.ndarray, card: ModelCard, input_detail: dict) -> np.ndarray:
    """Frame to input tensor in one call."""
    return to_input(to_pixels(frame, card), card, input_detail)
