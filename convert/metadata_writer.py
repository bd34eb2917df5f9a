"""Standard TFLite Model Metadata, written: what MediaPipe Tasks and the Task Library read.

The `ModelMetadata` flatbuffer (identifier `M001`, tables and field numbers of tflite-support's
`metadata_schema.fbs`) is built here with the `flatbuffers` builder that comes with TensorFlow;
it goes into a buffer that the model's `metadata` list names `TFLITE_METADATA` (TensorFlow's
generated TFLite schema re-serialises the model, so signatures and every other field survive).
The labels and the tfedge card travel as associated files in the stored zip that
`tfedge.edge.card.embed_card` appends. The reader is `tfedge.edge.tflite.metadata`.
"""

from __future__ import annotations

import numpy as np

from tfedge.edge.card import CARD_NAME, LABELS_NAME, ModelCard, embed_card, strip_embedded
from tfedge.edge.tflite.flatbuffer import FILE_IDENTIFIER, parse_tflite
from tfedge.edge.tflite.metadata import METADATA_IDENTIFIER, METADATA_NAME, ModelInfo

# Every field written here is in schema 1.0.0 (ImageProperties, NormalizationOptions, Stats,
# AssociatedFile name/description/type): the smallest version a parser needs to read them all.
MIN_PARSER_VERSION = "1.0.0"
_TENSOR_AXIS_LABELS, _UNKNOWN_FILE = 2, 0
# the schema has no BGR: a BGR model says UNKNOWN, so that MediaPipe refuses it rather than
# feeding it RGB (tfedge reads the card, which says BGR)
_COLOR_SPACE = {"RGB": 1, "BGR": 0, "GRAY": 2}
_FEATURE_PROPERTIES, _IMAGE_PROPERTIES = 1, 2
_NORMALIZATION_OPTIONS = 1


def _builder():
    import flatbuffers  # comes with TensorFlow; desktop only

    class AlignedBuilder(flatbuffers.Builder):
        """Byte vectors (weights) 16-byte aligned, as the TFLite converter writes them."""

        def StartVector(self, elemSize, numElems, alignment):  # noqa: N802, N803 - flatbuffers API
            return super().StartVector(elemSize, numElems, 16 if elemSize == 1 else alignment)

    return AlignedBuilder(1024)


def _vector(builder, values, prepend, size: int) -> int:
    builder.StartVector(size, len(values), size)
    for value in reversed(values):
        prepend(value)
    return builder.EndVector()


def _table(builder, slots: int, fields: list) -> int:
    """A table of `slots` fields from (slot, kind, value) with kind "offset", "byte" or "uint"."""
    builder.StartObject(slots)
    for slot, kind, value in fields:
        if kind == "offset":
            builder.PrependUOffsetTRelativeSlot(slot, value, 0)
        elif kind == "byte":
            builder.PrependUint8Slot(slot, value, 0)
        else:
            builder.PrependUint32Slot(slot, value, 0)
    return builder.EndObject()


def _file(builder, name: str, description: str, kind: int) -> int:
    name_offset, description_offset = builder.CreateString(name), builder.CreateString(description)
    return _table(builder, 5, [(0, "offset", name_offset), (1, "offset", description_offset),
                               (2, "byte", kind)])


def _stats(builder, low: list[float], high: list[float]) -> int:
    high_offset = _vector(builder, high, builder.PrependFloat32, 4)
    low_offset = _vector(builder, low, builder.PrependFloat32, 4)
    return _table(builder, 2, [(0, "offset", high_offset), (1, "offset", low_offset)])


def _input_tensor(builder, card: ModelCard, quantized: bool) -> int:
    mean = [float(m) for m in card.mean]
    std = [float(s) for s in card.std]
    channels = max(len(mean), len(std))
    means = mean * channels if len(mean) == 1 else mean
    stds = std * channels if len(std) == 1 else std
    low = [0.0] if quantized else [(0.0 - m) / s for m, s in zip(means, stds)]
    high = [255.0] if quantized else [(255.0 - m) / s for m, s in zip(means, stds)]
    name = builder.CreateString("image")
    color = "grayscale" if card.color_order == "GRAY" else card.color_order
    description = builder.CreateString(
        f"Input image, {card.input_size[1]}x{card.input_size[0]} {color}, 0..255 pixels, "
        f"normalised as (pixel - mean) / std")
    image = _table(builder, 2, [(0, "byte", _COLOR_SPACE[card.color_order])])
    content = _table(builder, 3, [(0, "byte", _IMAGE_PROPERTIES), (1, "offset", image)])
    mean_offset = _vector(builder, mean, builder.PrependFloat32, 4)
    std_offset = _vector(builder, std, builder.PrependFloat32, 4)
    normalization = _table(builder, 2, [(0, "offset", mean_offset), (1, "offset", std_offset)])
    unit = _table(builder, 2, [(0, "byte", _NORMALIZATION_OPTIONS), (1, "offset", normalization)])
    units = _vector(builder, [unit], builder.PrependUOffsetTRelative, 4)
    stats = _stats(builder, low, high)
    return _table(builder, 7, [(0, "offset", name), (1, "offset", description), (3, "offset", content),
                               (4, "offset", units), (5, "offset", stats)])


def _output_tensor(builder, card: ModelCard) -> int:
    name = builder.CreateString("probability" if card.outputs == "probabilities" else "logits")
    description = builder.CreateString(f"{card.outputs.capitalize()} of the {len(card.labels)} labels")
    features = _table(builder, 0, [])
    content = _table(builder, 3, [(0, "byte", _FEATURE_PROPERTIES), (1, "offset", features)])
    labels = _file(builder, LABELS_NAME, "Labels for the categories, one per line", _TENSOR_AXIS_LABELS)
    files = _vector(builder, [labels], builder.PrependUOffsetTRelative, 4)
    fields = [(0, "offset", name), (1, "offset", description), (3, "offset", content),
              (6, "offset", files)]
    if card.outputs == "probabilities":
        fields.append((5, "offset", _stats(builder, [0.0], [1.0])))
    return _table(builder, 7, fields)


def build_metadata(card: ModelCard, info: ModelInfo, quantized_input: bool) -> bytes:
    """The `ModelMetadata` flatbuffer for an image classifier described by `card`."""
    builder = _builder()
    inputs = _vector(builder, [_input_tensor(builder, card, quantized_input)],
                     builder.PrependUOffsetTRelative, 4)
    outputs = _vector(builder, [_output_tensor(builder, card)], builder.PrependUOffsetTRelative, 4)
    subgraph = _table(builder, 10, [(2, "offset", inputs), (3, "offset", outputs)])
    subgraphs = _vector(builder, [subgraph], builder.PrependUOffsetTRelative, 4)
    card_file = _file(builder, CARD_NAME, "tfedge model card (JSON): labels, input size, colour "
                      "order, scaling, provenance", _UNKNOWN_FILE)
    files = _vector(builder, [card_file], builder.PrependUOffsetTRelative, 4)
    strings = [builder.CreateString(text) for text in
               (info.name, info.description, info.version, info.author, info.license, MIN_PARSER_VERSION)]
    root = _table(builder, 8, [(0, "offset", strings[0]), (1, "offset", strings[1]),
                               (2, "offset", strings[2]), (3, "offset", subgraphs),
                               (4, "offset", strings[3]), (5, "offset", strings[4]),
                               (6, "offset", files), (7, "offset", strings[5])])
    builder.Finish(root, file_identifier=METADATA_IDENTIFIER)
    return bytes(builder.Output())


def insert_metadata_buffer(model: bytes, metadata: bytes) -> bytes:
    """The model flatbuffer (anything appended is dropped) with `metadata` as its
    TFLITE_METADATA buffer, replacing one it had."""
    from tensorflow.lite.python import schema_py_generated as schema  # desktop only

    flatbuffer = strip_embedded(model)
    tree = schema.ModelT.InitFromObj(schema.Model.GetRootAs(flatbuffer, 0))
    tree.buffers = tree.buffers or []
    tree.metadata = tree.metadata or []
    data = np.frombuffer(metadata, dtype=np.uint8).copy()
    entry = next((m for m in tree.metadata if _text(m.name) == METADATA_NAME), None)
    if entry is None:
        buffer = schema.BufferT()
        tree.buffers.append(buffer)
        entry = schema.MetadataT()
        entry.name, entry.buffer = METADATA_NAME, len(tree.buffers) - 1
        tree.metadata.append(entry)
    tree.buffers[entry.buffer].data = data
    builder = _builder()
    builder.Finish(tree.Pack(builder), file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())


def _text(value) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value or "")


def quantized_input(model: bytes) -> bool:
    graph = parse_tflite(model).main
    return graph.tensors[graph.inputs[0]].dtype in ("uint8", "int8")


def embed_metadata(model: bytes, card: ModelCard, info: ModelInfo,
                   normalisation: tuple[list[float], list[float]] | None = None) -> bytes:
    """`model` carrying standard metadata built from `card` and `info`, and the card with its labels
    as associated files (stored, so MediaPipe reads them). `normalisation` (mean, std) replaces the
    card's in the metadata: a uint8 model's card feeds bytes, its metadata tells the float meaning."""
    described = card if normalisation is None else card.replace(mean=normalisation[0], std=normalisation[1])
    metadata = build_metadata(described, info, quantized_input(model))
    return embed_card(insert_metadata_buffer(model, metadata), card)


def copy_metadata(source: bytes, target: bytes, card: ModelCard) -> bytes:
    """`target` (e.g. edgetpu_compiler's output, which drops metadata) with the standard metadata
    of `source` and `card` embedded again."""
    from tfedge.edge.tflite.metadata import metadata_buffer

    metadata = metadata_buffer(source)
    model = target if metadata is None else insert_metadata_buffer(target, metadata)
    return embed_card(model, card)
