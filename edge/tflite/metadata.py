"""A defensive reader of standard TFLite Model Metadata (the `M001` flatbuffer), device side.

Standard metadata is what MediaPipe Tasks, the TFLite Task Library, Android Studio and Netron
read: a `ModelMetadata` flatbuffer (file identifier `M001`) in the buffer that the model's
`metadata` list names `TFLITE_METADATA`, plus associated files (labels) in a zip appended to the
file. Field numbers follow tflite-support's `metadata_schema.fbs` (schema 1.5.0). Every offset is
bounds-checked by the same reader as the model's flatbuffer, so a damaged or hostile buffer gives
a ValueError, never a crash or a hang. No TensorFlow, no flatbuffers package.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from tfedge.edge.tflite.flatbuffer import FILE_IDENTIFIER, _Reader

METADATA_NAME = "TFLITE_METADATA"  # the entry of the model's `metadata` list that holds it
METADATA_IDENTIFIER = b"M001"
# enums of metadata_schema.fbs, index = code
ASSOCIATED_FILE_TYPES = ("UNKNOWN", "DESCRIPTIONS", "TENSOR_AXIS_LABELS", "TENSOR_VALUE_LABELS",
                         "TENSOR_AXIS_SCORE_CALIBRATION", "VOCABULARY", "SCANN_INDEX_FILE")
COLOR_SPACES = ("UNKNOWN", "RGB", "GRAYSCALE")
_IMAGE_PROPERTIES = 2  # ContentProperties union: FeatureProperties 1, ImageProperties 2, ...
_NORMALIZATION_OPTIONS = 1  # ProcessUnitOptions union: NormalizationOptions 1, ...
MAX_TENSORS = 64  # metadata entries read per list; real classifiers have one input, one output


@dataclass
class AssociatedFile:
    name: str
    type: str
    description: str = ""
    locale: str = ""


@dataclass
class TensorMetadata:
    """What the metadata says about one tensor (empty lists when it says nothing)."""

    name: str = ""
    description: str = ""
    color_space: str | None = None  # "RGB", "GRAYSCALE" or "UNKNOWN" for image inputs
    default_size: tuple[int, int] | None = None  # (width, height)
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)
    stats_min: list[float] = field(default_factory=list)
    stats_max: list[float] = field(default_factory=list)
    associated_files: list[AssociatedFile] = field(default_factory=list)

    def label_files(self) -> list[AssociatedFile]:
        return [f for f in self.associated_files if f.type == "TENSOR_AXIS_LABELS"]


@dataclass
class ModelInfo:
    """The model-level facts of standard metadata (what `tfedge convert --model-name`... set)."""

    name: str = ""
    description: str = ""
    version: str = ""
    author: str = ""
    license: str = ""


@dataclass
class StandardMetadata(ModelInfo):
    """A model's standard metadata: model facts, then its first subgraph's tensors."""

    min_parser_version: str = ""
    inputs: list[TensorMetadata] = field(default_factory=list)
    outputs: list[TensorMetadata] = field(default_factory=list)
    associated_files: list[AssociatedFile] = field(default_factory=list)

    def labels_file(self) -> AssociatedFile | None:
        """The output's label file of class names (the one without a locale, else the first)."""
        files = self.outputs[0].label_files() if self.outputs else []
        plain = [f for f in files if not f.locale]
        return (plain or files or [None])[0]

    def display_names_file(self, locale: str = "en") -> AssociatedFile | None:
        """The output's label file of display names for `locale`, when it has one."""
        files = self.outputs[0].label_files() if self.outputs else []
        return next((f for f in files if f.locale == locale), None)


def metadata_buffer(model: bytes) -> bytes | None:
    """The bytes of the `TFLITE_METADATA` buffer of a .tflite, or None when it has none.

    Raises ValueError when the model's metadata list or the buffer it names is damaged.
    """
    if len(model) < 8 or model[4:8] != FILE_IDENTIFIER:
        raise ValueError(f"no {FILE_IDENTIFIER.decode()} flatbuffer identifier")
    reader = _Reader(model)
    root = reader.indirect(0)
    for entry in reader.tables(root, 6)[:MAX_TENSORS]:  # Model.metadata: [Metadata]
        if reader.string(entry, 0) != METADATA_NAME:
            continue
        index = reader.scalar(entry, 1, "<I")
        buffers = reader.tables(root, 4)
        if index >= len(buffers):
            raise ValueError(f"{METADATA_NAME} names buffer {index}, but the model has {len(buffers)}")
        start, length = reader.vector(buffers[index], 0, 1)
        if length:
            return model[start:start + length]
        offset, size = reader.scalar(buffers[index], 1, "<Q"), reader.scalar(buffers[index], 2, "<Q")
        if offset <= 1 or offset + size > len(model):  # large models keep buffers after the flatbuffer
            raise ValueError(f"{METADATA_NAME} buffer {index} is empty or lies outside the file")
        return model[offset:offset + size]
    return None


def _files(reader: _Reader, table: int, index: int) -> list[AssociatedFile]:
    files = []
    for entry in reader.tables(table, index)[:MAX_TENSORS]:
        code = reader.scalar(entry, 2, "<b")
        kind = ASSOCIATED_FILE_TYPES[code] if 0 <= code < len(ASSOCIATED_FILE_TYPES) else f"unknown({code})"
        files.append(AssociatedFile(reader.string(entry, 0), kind, reader.string(entry, 1),
                                    reader.string(entry, 3)))
    return files


def _union(reader: _Reader, table: int, index: int) -> tuple[int, int | None]:
    """(type code, table position) of the union whose type is field `index`, value `index + 1`."""
    code = reader.scalar(table, index, "<B")
    position = reader.field(table, index + 1)
    return code, (reader.indirect(position) if position is not None and code else None)


def _tensor(reader: _Reader, table: int) -> TensorMetadata:
    tensor = TensorMetadata(reader.string(table, 0), reader.string(table, 1))
    content = reader.field(table, 3)
    if content is not None:
        code, properties = _union(reader, reader.indirect(content), 0)
        if code == _IMAGE_PROPERTIES and properties is not None:
            color = reader.scalar(properties, 0, "<b")
            tensor.color_space = COLOR_SPACES[color] if 0 <= color < len(COLOR_SPACES) else "UNKNOWN"
            size = reader.field(properties, 1)
            if size is not None:
                size = reader.indirect(size)
                tensor.default_size = (reader.scalar(size, 0, "<I"), reader.scalar(size, 1, "<I"))
    for unit in reader.tables(table, 4)[:MAX_TENSORS]:
        code, options = _union(reader, unit, 0)
        if code == _NORMALIZATION_OPTIONS and options is not None:
            tensor.mean, tensor.std = reader.scalars(options, 0, "f"), reader.scalars(options, 1, "f")
    stats = reader.field(table, 5)
    if stats is not None:
        stats = reader.indirect(stats)
        tensor.stats_max, tensor.stats_min = reader.scalars(stats, 0, "f"), reader.scalars(stats, 1, "f")
    tensor.associated_files = _files(reader, table, 6)
    return tensor


def parse_metadata(buffer: bytes) -> StandardMetadata:
    """Parse a `ModelMetadata` flatbuffer. Raises ValueError, with a short reason, when damaged."""
    if len(buffer) < 8 or buffer[4:8] != METADATA_IDENTIFIER:
        raise ValueError(f"the {METADATA_NAME} buffer has no {METADATA_IDENTIFIER.decode()} identifier")
    reader = _Reader(buffer)
    try:
        root = reader.indirect(0)
        metadata = StandardMetadata(
            name=reader.string(root, 0), description=reader.string(root, 1),
            version=reader.string(root, 2), author=reader.string(root, 4),
            license=reader.string(root, 5), min_parser_version=reader.string(root, 7),
            associated_files=_files(reader, root, 6))
        subgraphs = reader.tables(root, 3)
        if subgraphs:
            metadata.inputs = [_tensor(reader, t) for t in reader.tables(subgraphs[0], 2)[:MAX_TENSORS]]
            metadata.outputs = [_tensor(reader, t) for t in reader.tables(subgraphs[0], 3)[:MAX_TENSORS]]
    except struct.error as error:  # defensive: the reader checks bounds first
        raise ValueError(f"malformed metadata flatbuffer ({error})") from None
    return metadata


def read_standard_metadata(model: bytes) -> StandardMetadata | None:
    """The standard metadata of .tflite bytes, or None when there is none.

    Raises ValueError (one line) when the metadata is there but damaged.
    """
    try:
        buffer = metadata_buffer(model)
    except struct.error as error:
        raise ValueError(f"malformed model flatbuffer ({error})") from None
    if buffer is None:
        return None
    try:
        return parse_metadata(buffer)
    except ValueError as error:
        raise ValueError(f"standard metadata unreadable ({error})") from None
