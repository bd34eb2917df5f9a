"""Frame (BGR from OpenCV) to input tensor: the ONLY place that knows colour order and scaling.

Training, evaluation, conversion calibration and the device runtime all go through these
functions, so every stage sees the same pixels.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from tfedge.edge.card import ModelCard

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")


JPEG_SUFFIXES = (".jpg", ".jpeg")
# libjpeg decodes at 1/2, 1/4 or 1/8 of the size by scaling its DCT (1/8 keeps each 8x8 block's
# mean): less work than decoding every pixel and shrinking afterwards.
REDUCED_COLOR = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4),
                 (2, cv2.IMREAD_REDUCED_COLOR_2))
# JPEG markers of a frame header (SOF0..SOF15 less DHT, JPG and DAC): height and width follow
_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def jpeg_size(data: bytes | np.ndarray) -> tuple[int, int] | None:
    """(width, height) from a JPEG's frame header, without decoding it; None if not a JPEG.

    The size as stored, before any EXIF rotation."""
    view = memoryview(data).cast("B") if isinstance(data, np.ndarray) else memoryview(data)
    if len(view) < 4 or view[0] != 0xFF or view[1] != 0xD8:
        return None
    position = 2
    while position + 9 <= len(view):
        if view[position] != 0xFF:
            return None
        marker = view[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        length = (view[position + 2] << 8) | view[position + 3]
        if marker in _FRAME_MARKERS:
            height = (view[position + 5] << 8) | view[position + 6]
            width = (view[position + 7] << 8) | view[position + 8]
            return (width, height) if width and height else None
        if marker == 0xDA or length < 2:  # scan data before any frame header: not a JPEG we know
            return None
        position += 2 + length
    return None


def decode_margin(at_least: tuple[int, int]) -> float:
    """How many times the model's input (width, height) a reduced JPEG must stay: 4 for inputs of
    at most SMALL_OUTPUT pixels (Fashion-MNIST from 720p JPEGs: -0.04 pp against a full decode;
    at 1/8, 3.2 times the input: -0.14 pp). Larger inputs are never decoded reduced (infinity):
    libjpeg's reduced decode comes out 0.08 darker on average, and a 224-pixel model lost 0.54 pp
    to it at 1/2 (benchmarks/reduced_decode.py)."""
    return 4.0 if at_least[0] * at_least[1] <= SMALL_OUTPUT else math.inf


def reduced_factor(stored: tuple[int, int], at_least: tuple[int, int], margin: float | None = None) -> int:
    """The largest JPEG reduction (8, 4, 2, or 1 for none) that keeps an image of `stored`
    (width, height) at least `margin` (`decode_margin`) times `at_least` (width, height) on both
    sides, whichever way EXIF turns it and whichever part a centre crop keeps: its short side
    must stay >= the long target side times the margin."""
    margin = decode_margin(at_least) if margin is None else margin
    short_side, long_target = min(stored), max(at_least) * margin
    for factor, _ in REDUCED_COLOR:
        if short_side // factor >= long_target:
            return factor
    return 1


def decode_image(path: str | Path, at_least: tuple[int, int] | None = None) -> np.ndarray:
    """Read an image file as an 8-bit BGR frame, the way a camera delivers one.

    Grayscale, RGBA, 16-bit and CMYK files are converted; EXIF orientation is applied.
    `at_least` (width, height), the model's input size: a JPEG large enough is decoded at 1/2,
    1/4 or 1/8 of its size (`reduced_factor`), never smaller than that. Training, calibration,
    verification and `tfedge run FOLDER` all pass it, so they see the same pixels.
    Raises ValueError when the file cannot be decoded as an image.
    """
    data = np.fromfile(str(path), dtype=np.uint8)
    flags = cv2.IMREAD_COLOR
    if at_least is not None and Path(path).suffix.lower() in JPEG_SUFFIXES:
        stored = jpeg_size(data)
        factor = reduced_factor(stored, at_least) if stored else 1
        flags = dict(REDUCED_COLOR).get(factor, cv2.IMREAD_COLOR)
    frame = cv2.imdecode(data, flags) if data.size else None
    if frame is None and Path(path).suffix.lower() == ".gif":
        capture = cv2.VideoCapture(str(path))
        ok, frame = capture.read()
        capture.release()
        frame = frame if ok else None
    if frame is None:
        raise ValueError(f"{path}: not a decodable image")
    return frame


class ModelView(np.ndarray):
    """A frame to show (a camera's main stream) carrying `model_view`, a smaller BGR image of the
    same moment made by the camera itself (picamera2's lores stream, scaled by the Pi's ISP).
    `to_pixels` reads `model_view` when it is at least the model's input; everything else sees
    the frame. Slices and copies are plain frames again (the attribute does not follow them)."""

    model_view: np.ndarray

    @classmethod
    def of(cls, frame: np.ndarray, model_view: np.ndarray) -> ModelView:
        view = frame.view(cls)
        view.model_view = model_view
        return view


def _model_view(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    small = getattr(frame, "model_view", None)
    if small is not None and small.shape[0] >= height and small.shape[1] >= width:
        return small
    return frame.view(np.ndarray) if isinstance(frame, ModelView) else frame


def model_size(card: ModelCard) -> tuple[int, int]:
    """The card's input size as (width, height), the order OpenCV and `decode_image` take."""
    height, width = card.input_size
    return width, height


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
TINY_OUTPUT = 32 * 32  # up to this many, that call starts from at least 8x the output's size


def resize(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """`frame` resized to width x height: area-averaged when shrinking, bilinear when growing.

    Shrinking is OpenCV's `INTER_AREA` done fast: halve with the 2x2 area step (OpenCV's SIMD
    path) while both sides stay at least 1.5 times the target, resample bilinearly to exactly
    twice the target, and average 2x2 once more. Every output pixel is the mean of four bilinear
    samples of a pre-averaged frame; a 1280x720 frame to 224x224 takes 0.48 ms of CPU instead
    of 2.0 ms for a single `INTER_AREA` call, and the pixels differ from that call by 0.26 on
    average (benchmarks/resize_accuracy.py measures the accuracy effect). Outputs of at most
    SMALL_OUTPUT pixels stop halving at 4x their size (TINY_OUTPUT ones at 8x) and end with one
    `INTER_AREA` call.
    """
    frame_h, frame_w = frame.shape[:2]
    if frame_h == height and frame_w == width:
        return frame
    if frame_h < height or frame_w < width:
        return cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR)
    small = width * height <= SMALL_OUTPUT
    # small outputs: stop halving at 4x the target (tiny ones at 8x); one INTER_AREA call over
    # that many pixels stays cheap, and each 2x2 average mixes in at most 1/4 (1/8) of a
    # neighbouring output pixel's area. For 28x28, 8x halves the pixel difference from one
    # INTER_AREA call (Fashion-MNIST-like 720p frames: 0.22 against 0.47) for 0.7 instead of
    # 0.35 ms of CPU (one INTER_AREA call: 2.3 ms); 96x96 from 8x would cost what one call does.
    # Others: stop at 1.5x, so the bilinear step to 2x never enlarges much (640x480 to 224x224:
    # 0.16 from INTER_AREA on average, against 0.35 when halved to 320x240 first; same CPU).
    keep = (16 if width * height <= TINY_OUTPUT else 8) if small else 3
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
    frame = _model_view(frame, width, height)
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
