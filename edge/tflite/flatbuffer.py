"""A defensive, pure-Python reader of the .tflite flatbuffer: tensors, operators, buffers.

It never trusts the file: every offset and length is bounds-checked, so a truncated or hostile
file gives a ValueError naming what is wrong, never a crash or a hang. It needs no interpreter
(and so runs on any device, and before an interpreter ever sees the bytes). Field numbers follow
TensorFlow Lite's schema.fbs (Model, SubGraph, Tensor, QuantizationParameters, Operator, Buffer).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

FILE_IDENTIFIER = b"TFL3"  # schema.fbs: file_identifier, at bytes 4 to 8 of every .tflite

TENSOR_TYPES = (
    "float32", "float16", "int32", "uint8", "int64", "string", "bool", "int16", "complex64", "int8",
    "float64", "complex128", "uint64", "resource", "variant", "uint32", "uint16", "int4", "bfloat16",
    "int2", "uint4", "float8_e4m3fn", "float8_e5m2",
)

# BuiltinOperator enum of schema.fbs, index = code (generated from the schema, not hand-typed)
BUILTIN_OPERATORS = (
    'ADD', 'AVERAGE_POOL_2D', 'CONCATENATION', 'CONV_2D', 'DEPTHWISE_CONV_2D', 'DEPTH_TO_SPACE',
    'DEQUANTIZE', 'EMBEDDING_LOOKUP', 'FLOOR', 'FULLY_CONNECTED', 'HASHTABLE_LOOKUP',
    'L2_NORMALIZATION', 'L2_POOL_2D', 'LOCAL_RESPONSE_NORMALIZATION', 'LOGISTIC', 'LSH_PROJECTION',
    'LSTM', 'MAX_POOL_2D', 'MUL', 'RELU', 'RELU_N1_TO_1', 'RELU6', 'RESHAPE', 'RESIZE_BILINEAR',
    'RNN', 'SOFTMAX', 'SPACE_TO_DEPTH', 'SVDF', 'TANH', 'CONCAT_EMBEDDINGS', 'SKIP_GRAM', 'CALL',
    'CUSTOM', 'EMBEDDING_LOOKUP_SPARSE', 'PAD', 'UNIDIRECTIONAL_SEQUENCE_RNN', 'GATHER',
    'BATCH_TO_SPACE_ND', 'SPACE_TO_BATCH_ND', 'TRANSPOSE', 'MEAN', 'SUB', 'DIV', 'SQUEEZE',
    'UNIDIRECTIONAL_SEQUENCE_LSTM', 'STRIDED_SLICE', 'BIDIRECTIONAL_SEQUENCE_RNN', 'EXP', 'TOPK_V2',
    'SPLIT', 'LOG_SOFTMAX', 'DELEGATE', 'BIDIRECTIONAL_SEQUENCE_LSTM', 'CAST', 'PRELU', 'MAXIMUM',
    'ARG_MAX', 'MINIMUM', 'LESS', 'NEG', 'PADV2', 'GREATER', 'GREATER_EQUAL', 'LESS_EQUAL',
    'SELECT', 'SLICE', 'SIN', 'TRANSPOSE_CONV', 'SPARSE_TO_DENSE', 'TILE', 'EXPAND_DIMS', 'EQUAL',
    'NOT_EQUAL', 'LOG', 'SUM', 'SQRT', 'RSQRT', 'SHAPE', 'POW', 'ARG_MIN', 'FAKE_QUANT',
    'REDUCE_PROD', 'REDUCE_MAX', 'PACK', 'LOGICAL_OR', 'ONE_HOT', 'LOGICAL_AND', 'LOGICAL_NOT',
    'UNPACK', 'REDUCE_MIN', 'FLOOR_DIV', 'REDUCE_ANY', 'SQUARE', 'ZEROS_LIKE', 'FILL', 'FLOOR_MOD',
    'RANGE', 'RESIZE_NEAREST_NEIGHBOR', 'LEAKY_RELU', 'SQUARED_DIFFERENCE', 'MIRROR_PAD', 'ABS',
    'SPLIT_V', 'UNIQUE', 'CEIL', 'REVERSE_V2', 'ADD_N', 'GATHER_ND', 'COS', 'WHERE', 'RANK', 'ELU',
    'REVERSE_SEQUENCE', 'MATRIX_DIAG', 'QUANTIZE', 'MATRIX_SET_DIAG', 'ROUND', 'HARD_SWISH', 'IF',
    'WHILE', 'NON_MAX_SUPPRESSION_V4', 'NON_MAX_SUPPRESSION_V5', 'SCATTER_ND', 'SELECT_V2',
    'DENSIFY', 'SEGMENT_SUM', 'BATCH_MATMUL', 'PLACEHOLDER_FOR_GREATER_OP_CODES', 'CUMSUM',
    'CALL_ONCE', 'BROADCAST_TO', 'RFFT2D', 'CONV_3D', 'IMAG', 'REAL', 'COMPLEX_ABS', 'HASHTABLE',
    'HASHTABLE_FIND', 'HASHTABLE_IMPORT', 'HASHTABLE_SIZE', 'REDUCE_ALL', 'CONV_3D_TRANSPOSE',
    'VAR_HANDLE', 'READ_VARIABLE', 'ASSIGN_VARIABLE', 'BROADCAST_ARGS', 'RANDOM_STANDARD_NORMAL',
    'BUCKETIZE', 'RANDOM_UNIFORM', 'MULTINOMIAL', 'GELU', 'DYNAMIC_UPDATE_SLICE', 'RELU_0_TO_1',
    'UNSORTED_SEGMENT_PROD', 'UNSORTED_SEGMENT_MAX', 'UNSORTED_SEGMENT_SUM', 'ATAN2',
    'UNSORTED_SEGMENT_MIN', 'SIGN', 'BITCAST', 'BITWISE_XOR', 'RIGHT_SHIFT', 'STABLEHLO_LOGISTIC',
    'STABLEHLO_ADD', 'STABLEHLO_DIVIDE', 'STABLEHLO_MULTIPLY', 'STABLEHLO_MAXIMUM',
    'STABLEHLO_RESHAPE', 'STABLEHLO_CLAMP', 'STABLEHLO_CONCATENATE', 'STABLEHLO_BROADCAST_IN_DIM',
    'STABLEHLO_CONVOLUTION', 'STABLEHLO_SLICE', 'STABLEHLO_CUSTOM_CALL', 'STABLEHLO_REDUCE',
    'STABLEHLO_ABS', 'STABLEHLO_AND', 'STABLEHLO_COSINE', 'STABLEHLO_EXPONENTIAL',
    'STABLEHLO_FLOOR', 'STABLEHLO_LOG', 'STABLEHLO_MINIMUM', 'STABLEHLO_NEGATE', 'STABLEHLO_OR',
    'STABLEHLO_POWER', 'STABLEHLO_REMAINDER', 'STABLEHLO_RSQRT', 'STABLEHLO_SELECT',
    'STABLEHLO_SUBTRACT', 'STABLEHLO_TANH', 'STABLEHLO_SCATTER', 'STABLEHLO_COMPARE',
    'STABLEHLO_CONVERT', 'STABLEHLO_DYNAMIC_SLICE', 'STABLEHLO_DYNAMIC_UPDATE_SLICE',
    'STABLEHLO_PAD', 'STABLEHLO_IOTA', 'STABLEHLO_DOT_GENERAL', 'STABLEHLO_REDUCE_WINDOW',
    'STABLEHLO_SORT', 'STABLEHLO_WHILE', 'STABLEHLO_GATHER', 'STABLEHLO_TRANSPOSE', 'DILATE',
    'STABLEHLO_RNG_BIT_GENERATOR', 'REDUCE_WINDOW', 'STABLEHLO_COMPOSITE', 'STABLEHLO_SHIFT_LEFT',
    'STABLEHLO_CBRT', 'STABLEHLO_CASE',
)


@dataclass
class Tensor:
    index: int
    name: str
    dtype: str
    shape: list[int]
    shape_signature: list[int] | None
    scale: list[float]
    zero_point: list[int]
    quantized_dimension: int
    buffer: int

    @property
    def quantized(self) -> bool:
        return bool(self.scale)

    @property
    def static_shape(self) -> bool:
        return self.shape_signature is None or all(d >= 0 for d in self.shape_signature)


@dataclass
class Operator:
    name: str  # builtin name, or the custom code for custom operators
    inputs: list[int]
    outputs: list[int]


@dataclass
class Subgraph:
    name: str
    tensors: list[Tensor]
    inputs: list[int]
    outputs: list[int]
    operators: list[Operator]

    def operator_counts(self) -> dict[str, int]:
        """How often each operator occurs, in the order of first use."""
        return _count_operators(self.operators)


def _count_operators(operators) -> dict[str, int]:
    counts: dict[str, int] = {}
    for operator in operators:
        counts[operator.name] = counts.get(operator.name, 0) + 1
    return counts


@dataclass
class TfliteModel:
    """What the flatbuffer says; `buffer_sizes[i]` is the byte size of buffer i."""

    version: int
    description: str
    subgraphs: list[Subgraph]
    buffer_sizes: list[int] = field(default_factory=list)

    @property
    def main(self) -> Subgraph:
        return self.subgraphs[0]

    def operator_histogram(self) -> dict[str, int]:
        """Operator counts over every subgraph, the most used first."""
        counts = _count_operators(op for subgraph in self.subgraphs for op in subgraph.operators)
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


class _Reader:
    """Bounds-checked flatbuffer primitives over bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)
        # elements a well-formed model lets us read: a hostile file that points many vectors at
        # one long vector would otherwise make the reading time grow with the square of its size
        self.budget = 4 * len(data) + 1024

    def _unpack(self, fmt: str, pos: int):
        width = struct.calcsize(fmt)
        if pos < 0 or pos + width > self.size:
            raise ValueError(f"offset {pos} points outside the file ({self.size} bytes)")
        return struct.unpack_from(fmt, self.data, pos)[0]

    def u8(self, pos):
        return self._unpack("<B", pos)

    def u16(self, pos):
        return self._unpack("<H", pos)

    def i32(self, pos):
        return self._unpack("<i", pos)

    def u32(self, pos):
        return self._unpack("<I", pos)

    def _spend(self, elements: int) -> None:
        self.budget -= elements + 1
        if self.budget < 0:
            raise ValueError("the flatbuffer's vectors overlap far more than a real model's")

    def field(self, table: int, index: int) -> int | None:
        """Absolute position of field `index` of the table at `table`, or None when absent."""
        vtable = table - self.i32(table)
        vtable_size = self.u16(vtable)
        if vtable_size < 4 or vtable_size % 2:
            raise ValueError(f"corrupt vtable at {vtable}")
        slot = 4 + 2 * index
        if slot >= vtable_size:
            return None
        offset = self.u16(vtable + slot)
        if not offset:
            return None
        if offset >= self.u16(vtable + 2):
            raise ValueError(f"field {index} of the table at {table} lies outside the table")
        return table + offset

    def indirect(self, pos: int) -> int:
        target = pos + self.u32(pos)
        if target >= self.size:
            raise ValueError(f"offset at {pos} points outside the file")
        return target

    def scalar(self, table: int, index: int, fmt: str, default=0):
        pos = self.field(table, index)
        return default if pos is None else self._unpack(fmt, pos)

    def vector(self, table: int, index: int, element_size: int) -> tuple[int, int]:
        """(start, length) of a vector field; (0, 0) when absent."""
        pos = self.field(table, index)
        if pos is None:
            return 0, 0
        start = self.indirect(pos)
        length = self.u32(start)
        if start + 4 + length * element_size > self.size:
            raise ValueError(f"a vector of {length} elements at {start} runs past the end of the file")
        return start + 4, length

    def scalars(self, table: int, index: int, fmt: str) -> list:
        start, length = self.vector(table, index, struct.calcsize(fmt))
        self._spend(length)
        return list(struct.unpack_from(f"<{length}{fmt}", self.data, start)) if length else []

    def tables(self, table: int, index: int) -> list[int]:
        start, length = self.vector(table, index, 4)
        self._spend(length)
        return [self.indirect(start + 4 * i) for i in range(length)]

    def string(self, table: int, index: int) -> str:
        pos = self.field(table, index)
        if pos is None:
            return ""
        start = self.indirect(pos)
        length = self.u32(start)
        if start + 4 + length > self.size:
            raise ValueError(f"a string at {start} runs past the end of the file")
        return self.data[start + 4:start + 4 + length].decode("utf-8", errors="replace")


def _tensor(reader: _Reader, table: int, index: int) -> Tensor:
    type_code = reader.scalar(table, 1, "<b")
    dtype = TENSOR_TYPES[type_code] if 0 <= type_code < len(TENSOR_TYPES) else f"unknown({type_code})"
    quantization = reader.field(table, 4)
    scale, zero_point, dimension = [], [], 0
    if quantization is not None:
        quantization = reader.indirect(quantization)
        scale = reader.scalars(quantization, 2, "f")
        zero_point = reader.scalars(quantization, 3, "q")
        dimension = reader.scalar(quantization, 6, "<i")
    signature = reader.scalars(table, 7, "i") if reader.field(table, 7) is not None else None
    return Tensor(index, reader.string(table, 3), dtype, reader.scalars(table, 0, "i"), signature,
                  scale, zero_point, dimension, reader.scalar(table, 2, "<I"))


def _operator_names(reader: _Reader, model: int) -> list[str]:
    names = []
    for code in reader.tables(model, 1):
        builtin = max(reader.scalar(code, 0, "<b"), reader.scalar(code, 3, "<i"))
        if builtin == 32:  # CUSTOM
            names.append(reader.string(code, 1) or "CUSTOM")
        elif 0 <= builtin < len(BUILTIN_OPERATORS):
            names.append(BUILTIN_OPERATORS[builtin])
        else:
            names.append(f"UNKNOWN_BUILTIN_{builtin}")
    return names


def _subgraph(reader: _Reader, table: int, operator_names: list[str]) -> Subgraph:
    tensors = [_tensor(reader, t, i) for i, t in enumerate(reader.tables(table, 0))]
    operators = []
    for op in reader.tables(table, 3):
        opcode = reader.scalar(op, 0, "<I")
        if opcode >= len(operator_names):
            raise ValueError(f"an operator uses opcode {opcode}, but the model defines "
                             f"{len(operator_names)}")
        operators.append(Operator(operator_names[opcode], reader.scalars(op, 1, "i"),
                                  reader.scalars(op, 2, "i")))
    inputs, outputs = reader.scalars(table, 1, "i"), reader.scalars(table, 2, "i")
    for index in [*inputs, *outputs]:
        if not 0 <= index < len(tensors):
            raise ValueError(f"subgraph input/output {index} names no tensor ({len(tensors)} tensors)")
    return Subgraph(reader.string(table, 4), tensors, inputs, outputs, operators)


def parse_tflite(data: bytes) -> TfliteModel:
    """Parse .tflite bytes (anything appended after the flatbuffer is ignored).

    Raises ValueError, with a short reason, for anything that is not a well-formed model.
    """
    if len(data) < 8 or data[4:8] != FILE_IDENTIFIER:
        raise ValueError(f"no {FILE_IDENTIFIER.decode()} flatbuffer identifier")
    reader = _Reader(data)
    try:
        model = reader.indirect(0)
        operator_names = _operator_names(reader, model)
        subgraphs = [_subgraph(reader, table, operator_names) for table in reader.tables(model, 2)]
        buffer_sizes = []
        for buffer in reader.tables(model, 4):
            _, length = reader.vector(buffer, 0, 1)
            buffer_sizes.append(length or reader.scalar(buffer, 2, "<Q"))
        for subgraph in subgraphs:
            for tensor in subgraph.tensors:
                if buffer_sizes and tensor.buffer >= len(buffer_sizes):
                    raise ValueError(f"tensor {tensor.name!r} uses buffer {tensor.buffer}, but the "
                                     f"model has {len(buffer_sizes)}")
        version = reader.scalar(model, 0, "<I")
        description = reader.string(model, 3)
    except struct.error as error:  # defensive: _unpack checks bounds first
        raise ValueError(f"malformed flatbuffer ({error})") from None
    if not subgraphs:
        raise ValueError("the model has no subgraph")
    return TfliteModel(version, description, subgraphs, buffer_sizes)
