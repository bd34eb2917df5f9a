"""What a model's standard TFLite metadata tells the device: labels and input scaling.

Used for models without a tfedge card (from MediaPipe Model Maker, TF Hub, Kaggle, tflite-support's
writers): their labels come from the output's TENSOR_AXIS_LABELS file, their scaling from the
input's NormalizationOptions, the way MediaPipe Tasks reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tfedge.edge.card import read_associated_file
from tfedge.edge.tflite.metadata import AssociatedFile, StandardMetadata

MAX_LABELS_BYTES = 4 << 20  # a label file of 100,000 long names; more is refused, not read


@dataclass
class MetadataFacts:
    """What the metadata settles; None where it says nothing, so the next source decides."""

    labels: list[str] | None = None
    display_names: list[str] | None = None
    mean: list[float] | None = None
    std: list[float] | None = None
    notes: list[str] = field(default_factory=list)


def _label_lines(content: bytes, file: AssociatedFile | None) -> list[str] | None:
    if file is None:
        return None
    data = read_associated_file(content, file.name, MAX_LABELS_BYTES)
    if data is None:
        return None
    lines = data.decode("utf-8", errors="replace").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    return [line.strip() for line in lines]


def quantized_identity(input_detail: dict) -> tuple[float, float] | None:
    """(mean, std) that feed a quantized uint8/int8 input raw pixel bytes, None for float input.

    uint8: byte = pixel; int8: byte = pixel - 128 (what MediaPipe and the Task Library feed).
    """
    dtype = np.dtype(input_detail["dtype"])
    scale, zero_point = input_detail["quantization"]
    if dtype not in (np.uint8, np.int8) or not scale:
        return None
    return float(zero_point + (128 if dtype == np.int8 else 0)), float(1.0 / scale)


def metadata_facts(metadata: StandardMetadata, content: bytes, input_detail: dict,
                   num_outputs: int) -> MetadataFacts:
    """Labels and scaling from `metadata`. Raises ValueError when they contradict the model."""
    facts = MetadataFacts()
    facts.labels = _label_lines(content, metadata.labels_file())
    if facts.labels is not None and len(facts.labels) != num_outputs:
        raise ValueError(f"its metadata labels file has {len(facts.labels)} labels for "
                         f"{num_outputs} outputs")
    names = _label_lines(content, metadata.display_names_file())
    if names is not None and len(names) == num_outputs:
        facts.display_names = names
    channels = int(input_detail["shape"][-1])
    if metadata.inputs and metadata.inputs[0].mean and metadata.inputs[0].std:
        mean, std = metadata.inputs[0].mean, metadata.inputs[0].std
        for values in (mean, std):
            if len(values) not in (1, channels):
                raise ValueError(f"its metadata normalisation has {len(values)} values for "
                                 f"{channels} channel(s)")
        if not all(np.isfinite(std)) or not all(s > 0 for s in std) or not all(np.isfinite(mean)):
            raise ValueError(f"its metadata normalisation std {std} is not positive and finite")
        facts.mean, facts.std = [float(m) for m in mean], [float(s) for s in std]
    identity = quantized_identity(input_detail)
    if identity is not None:  # quantized input takes bytes whatever the float semantics say
        facts.mean, facts.std = [identity[0]], [identity[1]]
    return facts
