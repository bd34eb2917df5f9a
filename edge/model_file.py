"""Loading a .tflite file for the device: its bytes, its card, and checks that it fits.

Models from elsewhere carry no card. Precedence: the tfedge card, then standard TFLite metadata
(MediaPipe Model Maker, TF Hub, tflite-support), then a `labels.txt` beside the file (Teachable
Machine, the Coral zoo), then a guess from the input tensor, which says so in one warning.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

from tfedge.edge.card import LABELS_NAME, ModelCard, load_labels_file, read_embedded_card
from tfedge.edge.metadata_card import MetadataFacts, metadata_facts, quantized_identity
from tfedge.edge.tflite.flatbuffer import TfliteModel, parse_tflite
from tfedge.edge.tflite.metadata import StandardMetadata, read_standard_metadata
from tfedge.errors import ModelError


@dataclass
class ModelFile:
    path: Path
    content: bytes
    card: ModelCard | None  # the embedded card; None when the file has none (see card_from_interpreter)
    metadata: StandardMetadata | None = field(default=None)  # standard TFLite metadata, if any


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
    try:
        metadata = read_standard_metadata(content)
    except ValueError as error:
        if card is None:  # with a card, the card decides and damaged metadata does not matter
            raise ModelError(f"{path}: {error}; replace it with tfedge metadata ... --overwrite") from None
        metadata = None
    return ModelFile(path, content, card, metadata)


def card_from_interpreter(model: ModelFile, input_detail: dict, output_detail: dict) -> ModelCard:
    """The card for `model`: its own, else one from its standard metadata, a labels.txt beside it
    and its input tensor, in that order (see the module docstring)."""
    check_image_input(input_detail, model.path)
    if model.card is not None:
        return model.card
    shape = input_detail["shape"]
    labels_path = model.path.with_name(LABELS_NAME)
    num_outputs = int(output_detail["shape"][-1])
    facts = MetadataFacts()
    if model.metadata is not None:
        try:
            facts = metadata_facts(model.metadata, model.content, input_detail, num_outputs)
        except ValueError as error:
            raise ModelError(f"{model.path}: {error}; fix or replace its metadata "
                             "(tfedge metadata ... --overwrite)") from None
    guessed = []
    labels, labels_from = facts.labels, "standard metadata"
    if labels is None and labels_path.exists():
        labels, labels_from = load_labels_file(labels_path), str(labels_path)
        if len(labels) == num_outputs + 1:  # some zoo label files start with a background class
            labels = labels[1:] if labels[0].lower() in ("background", "???") else labels
    if labels is None:
        guessed.append("labels are shown as class indexes")
        labels, labels_from = [str(i) for i in range(num_outputs)], None
    mean, std = facts.mean, facts.std
    if mean is None:
        identity = quantized_identity(input_detail)
        if identity is not None:  # quantized image models take raw pixel bytes
            mean, std = [identity[0]], [identity[1]]
        else:
            guessed.append("its float input is assumed to take pixels scaled to [-1, 1]")
            mean, std = [127.5], [127.5]  # the common float convention
    if guessed:
        warnings.warn(
            f"{model.path.name} has no embedded card"
            f"{' and no ' + LABELS_NAME + ' beside it' if labels_from is None else ''}"
            f"{'' if model.metadata is not None else ', nor standard metadata'}; "
            + "; ".join(guessed) + " (tfedge metadata MODEL ... adds what is missing)",
            stacklevel=2,
        )
    provenance = {"labels_from": labels_from}
    if facts.display_names is not None:
        provenance["display_names"] = facts.display_names
    return ModelCard(
        labels=labels,
        input_size=(int(shape[1]), int(shape[2])),
        color_order="GRAY" if int(shape[3]) == 1 else "RGB",
        mean=mean,
        std=std,
        backbone="unknown (no tfedge card)",
        provenance=provenance,
    )


def check_image_input(input_detail: dict, path: Path) -> None:
    shape = [int(size) for size in input_detail["shape"]]
    if len(shape) != 4 or shape[3] not in (1, 3):
        raise ModelError(
            f"{path}: input shape {shape} is not an image (expected [1, height, width, 1 or 3])"
        )
