"""Edge TPU models: how a compiled one is recognised and named, and whether a model is ready.

Will `edgetpu_compiler` take this model? The checks it needs, on the parsed flatbuffer, are
used by `tfedge inspect` (Edge TPU readiness) and by `tfedge convert --quant edgetpu` (the
preflight before compiling). Sources: Coral's "TensorFlow models on the Edge TPU" requirements
(8-bit quantized tensors, static sizes, batch 1, supported operations).

The one place for the compiler's marks: the custom operator it writes into every model it
compiles, and its file names (x.tflite compiles into x_edgetpu.tflite, with x_edgetpu.log);
`tfedge convert` keeps the compiler's input beside it as x_edgetpu_ready.tflite.
"""

from __future__ import annotations

from pathlib import Path

from tfedge.edge.tflite.flatbuffer import TfliteModel

COMPILED_OPERATOR = "edgetpu-custom-op"  # what the compiler leaves in a compiled model
COMPILED_SUFFIX = "_edgetpu"  # x.tflite -> x_edgetpu.tflite (and x_edgetpu.log)
READY_SUFFIX = "_ready"  # x_edgetpu.tflite's uncompiled int8 input, as tfedge convert writes it

# Builtin operators the Edge TPU can run (Coral's supported-operations table), by schema name.
EDGETPU_OPERATORS = frozenset({
    "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "EXPAND_DIMS",
    "FULLY_CONNECTED", "L2_NORMALIZATION", "LOGISTIC", "LSTM", "MAXIMUM", "MAX_POOL_2D", "MEAN",
    "MINIMUM", "MUL", "PACK", "PAD", "PRELU", "QUANTIZE", "REDUCE_MAX", "REDUCE_MIN", "RELU",
    "RELU6", "RELU_N1_TO_1", "RESHAPE", "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR", "RSQRT",
    "SLICE", "SOFTMAX", "SPACE_TO_DEPTH", "SPLIT", "SQUARED_DIFFERENCE", "SQUEEZE",
    "STRIDED_SLICE", "SUB", "SUM", "TANH", "TRANSPOSE", "TRANSPOSE_CONV",
})
EIGHT_BIT = ("int8", "uint8")


def is_compiled(model: TfliteModel) -> bool:
    return COMPILED_OPERATOR in model.operator_histogram()


def holds_compiled_operator(content: bytes) -> bool:
    """True when the raw bytes hold the compiler's operator (a quick look; no parsing)."""
    return COMPILED_OPERATOR.encode() in content


def compiled_path(model_path: Path, suffix: str = ".tflite") -> Path:
    """Where edgetpu_compiler writes the compiled `model_path` (`suffix` ".log": its log)."""
    return model_path.with_name(f"{model_path.stem}{COMPILED_SUFFIX}{suffix}")


def ready_path(compiled: Path) -> Path:
    """The Edge-TPU-ready file `tfedge convert` compiles into `compiled`: x_edgetpu_ready.tflite."""
    return compiled.with_name(f"{compiled.stem}{READY_SUFFIX}{compiled.suffix}")


def cpu_model_paths(compiled: Path) -> list[Path]:
    """Where the CPU model of a compiled x_edgetpu.tflite may lie, in the order to try them.

    That is x.tflite (the Coral convention: the compiler's input) or x_edgetpu_ready.tflite
    (what `tfedge convert --quant edgetpu` compiles from); [] for a name without `_edgetpu`.
    """
    if not compiled.stem.endswith(COMPILED_SUFFIX):
        return []
    base = compiled.stem[: -len(COMPILED_SUFFIX)]
    return [compiled.with_name(base + compiled.suffix), ready_path(compiled)]


def edgetpu_problems(model: TfliteModel) -> list[str]:
    """What stops `edgetpu_compiler` from putting the whole model on the Edge TPU; [] when ready."""
    if is_compiled(model):
        return []
    problems = []
    if len(model.subgraphs) > 1:
        problems.append(f"{len(model.subgraphs)} subgraphs: the Edge TPU maps only the first")
    graph = model.main
    for kind, indexes in (("input", graph.inputs), ("output", graph.outputs)):
        for index in indexes:
            tensor = graph.tensors[index]
            if tensor.dtype not in EIGHT_BIT:
                problems.append(f"{kind} {tensor.name!r} is {tensor.dtype}: needs uint8 or int8 "
                                "(convert with --quant edgetpu or int8)")
            if tensor.shape[:1] != [1]:
                problems.append(f"{kind} {tensor.name!r} has batch {tensor.shape[:1] or '?'}: needs "
                                "batch 1")
    dynamic = [t.name for t in graph.tensors if not t.static_shape]
    if dynamic:
        problems.append(f"{len(dynamic)} tensors with dynamic sizes (first: {dynamic[0]!r}): the "
                        "compiler needs static shapes (convert with --quant edgetpu: batch 1)")
    # int32 is fine: quantized biases, and constant shapes and axes
    unquantized = [t for t in graph.tensors if t.dtype.startswith(("float", "bfloat"))]
    if unquantized:
        first = unquantized[0]
        problems.append(f"{len(unquantized)} tensors are not 8-bit quantized (first: {first.name!r}, "
                        f"{first.dtype}): weights and activations must be int8")
    for name, count in graph.operator_counts().items():
        if name not in EDGETPU_OPERATORS:
            problems.append(f"operator {name} ({count}x) is not supported by the Edge TPU: it and "
                            "everything after it would run on the CPU")
    return problems
