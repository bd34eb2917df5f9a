"""`tfedge inspect`'s work: everything a .tflite says about itself, read without trusting it.

The flatbuffer is parsed in pure Python (tfedge.edge.tflite.flatbuffer); the interpreter, which can
crash on a hostile file, only ever loads the model in a child process (tfedge.edge.tflite.load_check).
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np

from tfedge.edge.card import LABELS_NAME, read_embedded_card, strip_embedded
from tfedge.edge.model_file import ModelFile, card_from_interpreter, read_tflite
from tfedge.edge.self_test import describe_self_test
from tfedge.edge.tflite.edgetpu import COMPILED_OPERATOR, edgetpu_problems, is_compiled
from tfedge.edge.tflite.flatbuffer import Tensor
from tfedge.edge.tflite.load_check import load_in_subprocess
from tfedge.edge.tflite.mediapipe_compat import mediapipe_notes, mediapipe_problems
from tfedge.edge.tflite.metadata import StandardMetadata, read_standard_metadata
from tfedge.errors import ModelError

_NUMPY_TYPES = {"float32", "float16", "int32", "uint8", "int64", "bool", "int16", "int8", "float64"}


def tensor_detail(tensor: Tensor) -> dict:
    """A parsed tensor in the shape of an interpreter's get_input_details() entry."""
    dtype = np.dtype(tensor.dtype) if tensor.dtype in _NUMPY_TYPES else np.dtype("float32")
    per_tensor = (tensor.scale[0], tensor.zero_point[0]) if tensor.scale and tensor.zero_point else (0.0, 0)
    return {"name": tensor.name, "index": tensor.index, "shape": np.asarray(tensor.shape),
            "dtype": dtype.type, "quantization": (float(per_tensor[0]), int(per_tensor[1]))}


def _tensor_summary(tensor: Tensor) -> dict:
    summary = {"name": tensor.name, "dtype": tensor.dtype, "shape": tensor.shape}
    if tensor.shape_signature is not None and tensor.shape_signature != tensor.shape:
        summary["shape_signature"] = tensor.shape_signature
    if len(tensor.scale) == 1:
        summary["quantization"] = {"scale": tensor.scale[0], "zero_point": tensor.zero_point[0]
                                   if tensor.zero_point else 0}
    elif tensor.scale:
        summary["quantization"] = {"per_channel": len(tensor.scale), "axis": tensor.quantized_dimension}
    return summary


def inspect_model(path: str | Path, load_check: bool = True, timeout_s: float = 30.0) -> dict:
    """A report of the model at `path`. Raises ModelError (one line) for a file that is no model."""
    path = Path(path)
    content, parsed = read_tflite(path)
    graph = parsed.main
    report = {
        "path": str(path), "file_bytes": len(content),
        "flatbuffer_bytes": len(strip_embedded(content)),
        "weights_bytes": int(sum(parsed.buffer_sizes)),
        "inputs": [_tensor_summary(graph.tensors[i]) for i in graph.inputs],
        "outputs": [_tensor_summary(graph.tensors[i]) for i in graph.outputs],
        "operators": parsed.operator_histogram(),
        "subgraphs": len(parsed.subgraphs),
        "edgetpu": {"compiled": is_compiled(parsed), "problems": edgetpu_problems(parsed)},
    }
    metadata, report["metadata"] = _standard_metadata(content)
    report["mediapipe"] = {"problems": mediapipe_problems(parsed, metadata),
                           "notes": mediapipe_notes(parsed, metadata)}
    report["card"], report["card_source"] = _card(path, content, parsed, metadata)
    if load_check:
        report["interpreter"] = load_in_subprocess(str(path), timeout_s)
    return report


def _standard_metadata(content: bytes) -> tuple[StandardMetadata | None, dict | str | None]:
    """(metadata, what the report shows): a dict, None when absent, a one-line reason when damaged."""
    try:
        metadata = read_standard_metadata(content)
    except ValueError as error:
        return None, f"unreadable ({error})"
    return metadata, (dataclasses.asdict(metadata) if metadata is not None else None)


def _card(path: Path, content: bytes, parsed, metadata: StandardMetadata | None) -> tuple[dict | None, str]:
    try:
        card = read_embedded_card(content)
    except ValueError as error:
        return None, f"embedded card unreadable ({error})"
    if card is not None:
        return dataclasses.asdict(card), "embedded"
    graph = parsed.main
    if not graph.inputs or not graph.outputs:
        return None, "none (the model has no input or output)"
    model = ModelFile(path, content, None, metadata)
    try:
        with warnings.catch_warnings():  # the report says where the labels came from instead
            warnings.simplefilter("ignore")
            card = card_from_interpreter(model, tensor_detail(graph.tensors[graph.inputs[0]]),
                                         tensor_detail(graph.tensors[graph.outputs[0]]))
    except (ModelError, ValueError, IndexError) as error:
        return None, f"none ({error})"
    labels_from = card.provenance.get("labels_from")
    source = ("standard metadata" if labels_from == "standard metadata" else LABELS_NAME if labels_from
              else "none (labels shown as indexes)")
    return dataclasses.asdict(card), f"built from {source} and the input tensor"


def _format_tensor(tensor: dict) -> str:
    text = f"  {tensor['name'] or '(unnamed)'}: {tensor['dtype']} {tensor['shape']}"
    if "shape_signature" in tensor:
        text += f" (signature {tensor['shape_signature']})"
    quantization = tensor.get("quantization")
    if quantization and "scale" in quantization:
        text += f", scale {quantization['scale']:.6g}, zero point {quantization['zero_point']}"
    elif quantization:
        text += f", per-channel ({quantization['per_channel']} scales, axis {quantization['axis']})"
    return text


def _format_metadata(metadata: dict | str | None) -> list[str]:
    if not isinstance(metadata, dict):
        return [f"standard metadata: {metadata or 'none'}"]
    lines = ["standard metadata:"]
    for key in ("name", "description", "version", "author", "license", "min_parser_version"):
        if metadata.get(key):
            lines.append(f"  {key}: {metadata[key]}")
    for kind in ("inputs", "outputs"):
        for tensor in metadata.get(kind) or []:
            facts = [f"{key} {tensor[key]}" for key in ("color_space", "mean", "std", "stats_min",
                                                       "stats_max") if tensor.get(key)]
            facts += [f"{f['type']} file {f['name']}" + (f" ({f['locale']})" if f["locale"] else "")
                      for f in tensor.get("associated_files") or []]
            lines.append(f"  {kind[:-1]} {tensor.get('name') or '(unnamed)'}: {', '.join(facts) or '-'}")
    files = [f["name"] for f in metadata.get("associated_files") or []]
    if files:
        lines.append(f"  model files: {', '.join(files)}")
    return lines


def format_inspection(report: dict) -> str:
    """The report as readable text."""
    appended = report["file_bytes"] - report["flatbuffer_bytes"]
    lines = [f"{report['path']}: {report['file_bytes']:,} bytes (flatbuffer {report['flatbuffer_bytes']:,}, "
             f"weights {report['weights_bytes']:,}, appended card {appended:,})"]
    card = report["card"]
    lines.append(f"card: {report['card_source']}")
    if card:
        for key in ("labels", "input_size", "color_order", "mean", "std", "resize", "outputs",
                    "backbone", "quantization"):
            lines.append(f"  {key}: {card.get(key)}")
        for key, value in sorted((card.get("provenance") or {}).items()):
            lines.append(f"  provenance.{key}: {value}")
        lines.append(f"  self_test: {describe_self_test(card.get('self_test'))}")
    lines += _format_metadata(report.get("metadata"))
    lines.append("inputs:")
    lines += [_format_tensor(t) for t in report["inputs"]]
    lines.append("outputs:")
    lines += [_format_tensor(t) for t in report["outputs"]]
    lines.append(f"operators ({sum(report['operators'].values())} in {report['subgraphs']} subgraph(s)):")
    lines += [f"  {name:28s} {count}" for name, count in report["operators"].items()]
    edgetpu = report["edgetpu"]
    if edgetpu["compiled"]:
        lines.append(f"Edge TPU: compiled (holds an {COMPILED_OPERATOR}); run it with the Edge TPU delegate")
    elif not edgetpu["problems"]:
        lines.append("Edge TPU: ready for edgetpu_compiler")
    else:
        lines.append("Edge TPU: not ready:")
        lines += [f"  - {problem}" for problem in edgetpu["problems"]]
    mediapipe = report.get("mediapipe")
    if mediapipe is not None:
        verdict = "cannot run it:" if mediapipe["problems"] else "can run it"
        lines.append(f"MediaPipe Tasks: {verdict}")
        lines += [f"  - {problem}" for problem in mediapipe["problems"]]
        lines += [f"  note: {note}" for note in mediapipe["notes"]]
    interpreter = report.get("interpreter")
    if interpreter is not None:
        lines.append(f"interpreter: loads ({interpreter['backend']})" if interpreter["ok"]
                     else f"interpreter: does not load: {interpreter['error']}")
    return "\n".join(lines)
