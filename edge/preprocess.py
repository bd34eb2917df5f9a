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


SMALL_OUTPUT = 96 * 96  # up to this many output pixels, the last shrinking step is one INTER_AREA call


def resize(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """`frame` resized to width x height: area-averaged when shrinking, bilinear when growing.

    Shrinking is OpenCV's `INTER_AREA` done fast: halve with the 2x2 area step (OpenCV's SIMD
    path) while both sides stay at least 1.5 times the target, resample bilinearly to exactly
    twice the target, and average 2x2 once more. Every output pixel is the mean of four bilinear
    samples of a pre-averaged frame; a 1280x720 frame to 224x224 takes 0.48 ms of CPU instead
    of 2.0 ms for a single `INTER_AREA` call, and the pixels differ from that call by 0.26 on
    average (benchmarks/resize_accuracy.py measures the accuracy effect). Outputs of at most
    SMALL_OUTPUT pixels stop halving at 4x their size and end with one `INTER_AREA` call.
    """
    frame_h, frame_w = frame.shape[:2]
    if frame_h == height and frame_w == width:
        return frame
    if frame_h < height or frame_w < width:
        return cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR)
    small = width * height <= SMALL_OUTPUT
    # small outputs: stop halving at 4x the target; one INTER_AREA call over that many pixels
    # stays cheap and within 0.2 of a full-frame INTER_AREA (halving to 1x: 1.4 on Fashion-MNIST).
    # Others: stop at 1.5x, so the bilinear step to 2x never enlarges much (640x480 to 224x224:
    # 0.16 from INTER_AREA on average, against 0.35 when halved to 320x240 first; same CPU).
    keep = 8 if small else 3
    while frame_w >= keep * width and frame_h >= keep * height:
        frame_w, frame_h = frame_w // 2, frame_h // 2
        even = frame[: 2 * frame_h, : 2 * frame_w]  # exact 2x2 blocks keep OpenCV on its fast path
        frame = cv2.resize(even, (frame_w, frame_h), interpolation=cv2.INTER_AREA)
    if frame_h == height and frame_w == width:
        return frame
    if small:
        return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
    doubled = cv2.resize(frame, (2 * width, 2 * height), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(doubled, (width, height), interpolation=cv2.INTER_AREA)


def to_pixels(frame: np.ndarray, card: ModelCard, out: np.ndarray | None = None) -> np.ndarray:
    """Resize a BGR (or gray/BGRA) uint8 frame and order its channels as the model expects.

    Returns uint8 of shape (height, width, channels): `out` when given (an array of that shape,
    the interpreter's own input buffer for example), written by the last step itself.
    """
    pixels = _to_pixels(frame, card, out)
    if out is not None and pixels is not out:
        np.copyto(out, pixels)
        return out
    return pixels


def _to_pixels(frame: np.ndarray, card: ModelCard, out: np.ndarray | None) -> np.ndarray:
    if frame.dtype != np.uint8:
        raise TypeError(f"frames must be uint8, got {frame.dtype}")
    height, width = card.input_size
    if card.resize == "center_crop":
        frame = _center_crop(frame, height, width)
    frame = resize(frame, width, height)
    if card.color_order == "GRAY":
        gray = frame if frame.ndim == 2 else cv2.cvtColor(_to_bgr(frame), cv2.COLOR_BGR2GRAY)
        return gray[:, :, None]
    frame = _to_bgr(frame)
    if card.color_order == "RGB":
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB, dst=out)
    return frame


def pixels_are_input(card: ModelCard, input_detail: dict) -> bool:
    """True when the model's input tensor is the uint8 pixels themselves (no scaling), so they
    can be written straight into the interpreter's input buffer."""
    scale, zero_point = input_detail.get("quantization", (0.0, 0)) or (0.0, 0)
    return np.dtype(input_detail["dtype"]) == np.uint8 and _identity_quantization(card, scale, zero_point)


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
