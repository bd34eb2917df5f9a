"""The model card: what a device needs to know to feed a model and name its outputs.

This is the ONLY module that knows the card's format. A card travels three ways:
- as `card.json` in a training run folder,
- inside a `.tflite` file, as a zip archive appended to the flatbuffer (the way TFLite
  metadata carries associated files; interpreters ignore the trailing bytes), holding
  `tfedge_card.json` and `labels.txt`,
- for models from elsewhere, as a `labels.txt` beside the `.tflite` (see `load_labels_file`).
"""

from __future__ import annotations

import dataclasses
import io
import json
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

CARD_NAME = "tfedge_card.json"
LABELS_NAME = "labels.txt"
FORMAT_VERSION = 1
MAX_CARD_BYTES = 1 << 20  # a card is a few KiB; a larger entry is refused, not decompressed
# what a damaged or hostile appended archive can raise while being read
_ARCHIVE_ERRORS = (zipfile.BadZipFile, ValueError, OSError, EOFError, UnicodeDecodeError, zlib.error,
                   NotImplementedError, RuntimeError, struct.error, KeyError, OverflowError)

COLOR_ORDERS = ("RGB", "BGR", "GRAY")


@dataclass
class ModelCard:
    """How a model sees the world.

    Attributes:
        labels: class names, index i is output i.
        input_size: (height, width) of the model input in pixels.
        color_order: channel order the model expects: "RGB", "BGR" or "GRAY" (one channel).
        mean: per-channel value subtracted from 0..255 pixels before the model (a single
            number applies to all channels).
        std: per-channel divisor after subtracting `mean`. Our own models carry their
            scaling inside the graph, so their input is plain 0..255 pixels (mean 0, std 1):
            an int8 model then takes camera bytes exactly, without a rounding step.
        resize: how a frame becomes input_size: "stretch" (whole frame) or "center_crop".
        outputs: "probabilities" (softmax inside the model) or "logits".
        backbone: the architecture preset the model was built from.
        quantization: how the .tflite was quantized ("float32", "int8", ...), None for Keras.
        provenance: free-form facts: run folder, tfedge version, source model hash, dates.
        self_test: inputs and the scores the desktop's interpreter gave for them (see
            tfedge.edge.self_test): {"seed", "count", "generator", "scores"}; None: no self-test
            (cards written before it existed, models from elsewhere).
    """

    labels: list[str]
    input_size: tuple[int, int]
    color_order: str = "RGB"
    mean: list[float] = field(default_factory=lambda: [0.0])
    std: list[float] = field(default_factory=lambda: [1.0])
    resize: str = "stretch"
    outputs: str = "probabilities"
    backbone: str = "unknown"
    quantization: str | None = None
    provenance: dict = field(default_factory=dict)
    self_test: dict | None = None

    def __post_init__(self) -> None:
        self.labels = [str(label) for label in self.labels]
        self.input_size = (int(self.input_size[0]), int(self.input_size[1]))
        if self.color_order not in COLOR_ORDERS:
            raise ValueError(f"card color_order {self.color_order!r} is not one of {COLOR_ORDERS}")
        if self.resize not in ("stretch", "center_crop"):
            raise ValueError(f"card resize {self.resize!r} is not 'stretch' or 'center_crop'")
        if min(self.input_size) < 1:
            raise ValueError(f"card input_size {self.input_size} must be positive")
        if self.self_test is not None and not isinstance(self.self_test, dict):
            raise ValueError("card self_test is not an object")

    @property
    def channels(self) -> int:
        return 1 if self.color_order == "GRAY" else 3

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data["input_size"] = list(self.input_size)
        data["format_version"] = FORMAT_VERSION
        return json.dumps(data, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelCard:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as error:  # deep nesting: hostile input
            raise ValueError(f"model card is not valid JSON ({error})") from None
        if not isinstance(data, dict):
            raise ValueError("model card is not a JSON object")
        data.pop("format_version", None)
        known = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(data.get("labels"), list) or not isinstance(data.get("input_size"), list):
            raise ValueError("model card needs a list of labels and an input_size [height, width]")
        if len(data["input_size"]) != 2:
            raise ValueError(f"model card input_size {data['input_size']} is not [height, width]")
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except (TypeError, IndexError, KeyError, OverflowError) as error:
            raise ValueError(f"model card is incomplete or malformed ({error})") from None

    def replace(self, **changes) -> ModelCard:
        return dataclasses.replace(self, **changes)


def save_card(card: ModelCard, path: str | Path) -> None:
    Path(path).write_text(card.to_json() + "\n", encoding="utf-8")


def load_card(path: str | Path) -> ModelCard:
    return ModelCard.from_json(Path(path).read_text(encoding="utf-8"))


def _zip_start(model: bytes) -> int | None:
    """Offset where an appended zip archive starts, or None when there is none."""
    buffer = io.BytesIO(model)
    try:
        if not zipfile.is_zipfile(buffer):
            return None
        with zipfile.ZipFile(buffer) as archive:
            infos = archive.infolist()
            start = min(info.header_offset for info in infos) if infos else None
    except _ARCHIVE_ERRORS:
        return None
    return start if start is not None and 0 <= start <= len(model) else None


def strip_embedded(model: bytes) -> bytes:
    """The flatbuffer without any appended archive."""
    start = _zip_start(model)
    return model if start is None else model[:start]


def embed_card(model: bytes, card: ModelCard) -> bytes:
    """Return `model` with the card and labels appended as a zip archive (replacing any)."""
    # Appending in "a" mode to bytes that are not a zip writes absolute offsets, which every
    # zip reader (and TFLite's metadata tools) understands. Entries are stored, not deflated:
    # MediaPipe's reader of associated files refuses compressed entries.
    buffer = io.BytesIO(strip_embedded(model))
    buffer.seek(0, io.SEEK_END)
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(CARD_NAME, card.to_json())
        archive.writestr(LABELS_NAME, "\n".join(card.labels) + "\n")
    return buffer.getvalue()


def read_embedded_card(model: bytes) -> ModelCard | None:
    """The card carried inside a .tflite's bytes, or None when it carries none."""
    start = _zip_start(model)
    if start is None:
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(model)) as archive:
            if CARD_NAME not in archive.namelist():
                return None
            if archive.getinfo(CARD_NAME).file_size > MAX_CARD_BYTES:
                raise ValueError(f"{CARD_NAME} is larger than {MAX_CARD_BYTES} bytes")
            text = archive.read(CARD_NAME).decode("utf-8")
    except _ARCHIVE_ERRORS as error:
        raise ValueError(f"the model's embedded card cannot be read ({error})") from None
    return ModelCard.from_json(text)


def read_associated_file(model: bytes, name: str, max_bytes: int = MAX_CARD_BYTES) -> bytes | None:
    """The entry `name` of the archive appended to a .tflite (an associated file of standard
    metadata), or None when there is none. Reads at most `max_bytes`, whatever the archive claims,
    so a zip bomb is refused, never inflated. Raises ValueError for a damaged or oversized entry.
    """
    if _zip_start(model) is None:
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(model)) as archive:
            if name not in archive.namelist():
                return None
            if archive.getinfo(name).file_size > max_bytes:
                raise ValueError(f"{name} is larger than {max_bytes} bytes")
            with archive.open(name) as entry:
                data = entry.read(max_bytes + 1)
    except _ARCHIVE_ERRORS as error:
        raise ValueError(f"the model's associated file {name} cannot be read ({error})") from None
    if len(data) > max_bytes:
        raise ValueError(f"{name} is larger than {max_bytes} bytes")
    return data


def parse_labels(text: str) -> list[str]:
    """Labels from a labels.txt: `0 cat`, `0:cat`, or one label per line.

    Index prefixes must be all present or all absent; with them, labels are placed by index.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    indexed: dict[int, str] = {}
    for line in lines:
        head, sep, rest = line.replace(":", " ", 1).partition(" ")
        if not (sep and head.isdigit() and rest.strip()):
            indexed = {}
            break
        indexed[int(head)] = rest.strip()
    if indexed and len(indexed) == len(lines) and sorted(indexed) == list(range(len(indexed))):
        return [indexed[i] for i in range(len(indexed))]
    return lines


def load_labels_file(path: str | Path) -> list[str]:
    return parse_labels(Path(path).read_text(encoding="utf-8"))
