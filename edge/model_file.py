"""Loading a .tflite file for the device: its bytes, its card, and checks that it fits.

Models from elsewhere (Teachable Machine, the Coral zoo) carry no card: a `labels.txt` beside
the file gives the labels and the input tensor gives the rest.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tfedge.edge.card import LABELS_NAME, ModelCard, load_labels_file, read_embedded_card
from tfedge.edge.tflite.flatbuffer import TfliteModel, parse_tflite
from tfedge.errors import ModelError


@dataclass
class ModelFile:
    path: Path
    content: bytes
    card: ModelCard | None  # the embedded card; None when the file has none (see card_from_interpreter)


def read_tflite(path: str | Path) -> tuple[bytes, TfliteModel]:
    """The bytes of the .tflite at `path` and what its flatbuffer says, read without an interpreter.

    The one check of a model file: a bounds-checked parse before an interpreter, which trusts the
    file, ever sees it. Raises ModelError for a missing path, a folder, or no well-formed model.
    """
    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: no such model file; give the path of a .tflite file")
    if path.is_dir():
        raise ModelError(f"{path}: is a folder; give the path of a .tflite file")
    if not path.is_file():  # a FIFO or a device could block the read or never end
        raise ModelError(f"{path}: is not a regular file; give the path of a .tflite file")
    try:
        content = path.read_bytes()
    except OSError as error:  # e.g. a root-only file run by a user (seen in the emulated Pi)
        raise ModelError(f"{path}: cannot be read ({error.strerror or error}); check its permissions "
                         "(ls -l) or copy it where you can read it") from None
    try:
        parsed = parse_tflite(content)
    except ValueError as error:
        raise ModelError(f"{path}: not a valid .tflite file ({error})") from None
    return content, parsed


def read_model_file(path: str | Path) -> ModelFile:
    """Read a .tflite and its embedded card. Raises ModelError for a missing or invalid file."""
    path = Path(path)
    content, _ = read_tflite(path)
    try:
        card = read_embedded_card(content)
    except ValueError as error:
        raise ModelError(f"{path}: {error}") from None
    return ModelFile(path, content, card)


def card_from_interpreter(model: ModelFile, input_detail: dict, output_detail: dict) -> ModelCard:
    """The card for `model`: its own, or one built from labels.txt and the input tensor."""
    check_image_input(input_detail, model.path)
    if model.card is not None:
        return model.card
    shape = input_detail["shape"]
    labels_path = model.path.with_name(LABELS_NAME)
    num_outputs = int(output_detail["shape"][-1])
    if labels_path.exists():
        labels = load_labels_file(labels_path)
    else:
        warnings.warn(
            f"{model.path.name} has no embedded card and no {LABELS_NAME} beside it; "
            "labels are shown as class indexes",
            stacklevel=2,
        )
        labels = [str(i) for i in range(num_outputs)]
    if len(labels) == num_outputs + 1:  # some zoo label files start with a background class
        labels = labels[1:] if labels[0].lower() in ("background", "???") else labels
    dtype = np.dtype(input_detail["dtype"])
    scale, zero_point = input_detail["quantization"]
    if dtype in (np.uint8, np.int8) and scale:
        # quantized image models take raw pixel bytes: pick mean/std that quantize to them
        # (uint8: byte = pixel; int8: byte = pixel - 128)
        mean = zero_point + (128 if dtype == np.int8 else 0)
        std = 1.0 / scale
    else:
        mean, std = 127.5, 127.5  # the common float convention: pixels scaled to [-1, 1]
    return ModelCard(
        labels=labels,
        input_size=(int(shape[1]), int(shape[2])),
        color_order="GRAY" if int(shape[3]) == 1 else "RGB",
        mean=[float(mean)],
        std=[float(std)],
        backbone="unknown (no tfedge card)",
        provenance={"labels_from": str(labels_path) if labels_path.exists() else None},
    )


def check_image_input(input_detail: dict, path: Path) -> None:
    shape = [int(size) for size in input_detail["shape"]]
    if len(shape) != 4 or shape[3] not in (1, 3):
        raise ModelError(
            f"{path}: input shape {shape} is not an image (expected [1, height, width, 1 or 3])"
        )
