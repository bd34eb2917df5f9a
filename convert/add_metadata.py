"""`tfedge metadata`'s work: standard metadata (and a tfedge card) for a .tflite from elsewhere.

Teachable Machine exports, Coral zoo models and plain TFLiteConverter output carry no metadata,
so MediaPipe Tasks refuses their float inputs and every reader shows class indexes. Given the
labels and how pixels are scaled, this writes a new file that runs everywhere; the original is
never touched.
"""

from __future__ import annotations

from pathlib import Path

from tfedge.convert.metadata_writer import ModelInfo, embed_metadata
from tfedge.edge.card import ModelCard, load_labels_file, read_embedded_card
from tfedge.edge.model_file import read_tflite
from tfedge.edge.tflite.metadata import read_standard_metadata
from tfedge.errors import DataError, ModelError, OutputError, UsageError
from tfedge.fileio import check_writable_parent, write_bytes_atomic

# --input-range VALUE -> (mean, std) on 0..255 pixels: the conventions image models are trained with
INPUT_RANGES = {"0,1": (0.0, 255.0), "-1,1": (127.5, 127.5), "0,255": (0.0, 1.0)}


def normalisation(input_range: str | None, mean: list[float] | None, std: list[float] | None,
                  channels: int, quantized: tuple[float, int] | None) -> tuple[list[float], list[float]]:
    """(mean, std) from --input-range or --mean/--std; for a quantized input, from its quantization
    when neither is given. Raises UsageError for a missing, partial or wrong-length choice."""
    if input_range is not None and (mean is not None or std is not None):
        raise UsageError("give either --input-range or --mean/--std, not both")
    if input_range is not None:
        if input_range not in INPUT_RANGES:
            raise UsageError(f"--input-range {input_range} is not one of {', '.join(INPUT_RANGES)}")
        value_mean, value_std = INPUT_RANGES[input_range]
        return [value_mean], [value_std]
    if mean is None and std is None:
        if quantized is None:
            raise UsageError("the model takes float input: say how pixels are scaled with "
                             f"--input-range {'|'.join(INPUT_RANGES)} or --mean/--std")
        scale, zero_point = quantized
        return [float(zero_point)], [1.0 / scale]  # what a byte means to a uint8 model
    if mean is None or std is None:
        raise UsageError("--mean and --std go together: give both")
    for option, values in (("--mean", mean), ("--std", std)):
        if len(values) not in (1, channels):
            raise UsageError(f"{option} has {len(values)} values for a {channels}-channel input; "
                             f"give 1 or {channels}")
    if any(not s > 0 for s in std):
        raise UsageError(f"--std {std} must be positive")
    return [float(m) for m in mean], [float(s) for s in std]


def add_metadata(model_path: str | Path, out: str | Path, labels_path: str | Path,
                 input_range: str | None = None, mean: list[float] | None = None,
                 std: list[float] | None = None, overwrite: bool = False,
                 info: ModelInfo | None = None) -> Path:
    """Write `out`: the model at `model_path` with standard metadata and a tfedge card."""
    model_path, out = Path(model_path), Path(out)
    content, parsed = read_tflite(model_path)
    graph = parsed.main
    if len(graph.inputs) != 1 or len(graph.outputs) < 1:
        raise ModelError(f"{model_path}: it has {len(graph.inputs)} inputs; an image classifier "
                         "takes exactly one image")
    tensor = graph.tensors[graph.inputs[0]]
    if len(tensor.shape) != 4 or tensor.shape[3] not in (1, 3) or tensor.dtype not in ("float32", "uint8"):
        raise ModelError(f"{model_path}: input {tensor.dtype} {tensor.shape} is not an image "
                         "(expected float32 or uint8 [1, height, width, 1 or 3])")
    try:
        existing = read_standard_metadata(content) is not None or read_embedded_card(content) is not None
    except ValueError:
        existing = True  # damaged metadata: replacing it is what --overwrite is for
    if existing and not overwrite:
        raise OutputError(f"{model_path} already has metadata; give --overwrite to replace it "
                          "(the original file is never changed)")
    if out.resolve() == model_path.resolve():
        raise OutputError(f"--out {out} is the model itself; give a new file name")
    if out.exists() and not overwrite:
        raise OutputError(f"{out} exists; give --overwrite to replace it, or another --out")
    check_writable_parent(out)
    try:
        labels = load_labels_file(labels_path)
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{labels_path}: cannot read the labels ({error})") from None
    classes = graph.tensors[graph.outputs[0]].shape[-1]
    if len(labels) != classes:
        raise DataError(f"{labels_path} has {len(labels)} labels but the model has {classes} "
                        "outputs; give one label per output, in output order")
    quantized = ((tensor.scale[0], tensor.zero_point[0] if tensor.zero_point else 0)
                 if tensor.dtype == "uint8" and tensor.scale else None)
    mean, std = normalisation(input_range, mean, std, tensor.shape[3], quantized)
    # a uint8 input takes pixel bytes as they are (as MediaPipe feeds them): the card says so, the
    # metadata keeps the float meaning the user gave
    card_mean, card_std = ([float(quantized[1])], [1.0 / quantized[0]]) if quantized else (mean, std)
    card = ModelCard(labels=labels, input_size=(tensor.shape[1], tensor.shape[2]),
                     color_order="GRAY" if tensor.shape[3] == 1 else "RGB", mean=card_mean, std=card_std,
                     backbone="unknown (from elsewhere)", quantization=None,
                     provenance={"metadata_from": "tfedge metadata", "source_file": model_path.name})
    info = info or ModelInfo()
    info = ModelInfo(info.name or model_path.stem, info.description or
                     f"Image classifier of {len(labels)} classes; metadata added by tfedge",
                     info.version, info.author, info.license)
    return write_bytes_atomic(out, embed_metadata(content, card, info, (mean, std)))
