"""What the parity check compares: the input tensors and raw output tensors of a model, per frame.

The x86 side (scripts/pi/fixtures.py) records them as the reference; the emulated Pi records
its own with the same functions and compares. Raw means the output tensor as the interpreter
returns it (uint8 for the int8 model), before dequantization.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tfedge.edge.classify import Classifier
from tfedge.edge.sources import open_source

QUANTS = ("float32", "int8")
SOURCES = ("video", "folder")
VIDEO_NAME = "video.mp4"
FOLDER_NAME = "folder"
MODELS_NAME = "models"
REFERENCE_NAME = "reference"


def source_path(fixtures: Path, source: str) -> Path:
    return Path(fixtures) / (VIDEO_NAME if source == "video" else FOLDER_NAME)


def model_path(fixtures: Path, quant: str) -> Path:
    return Path(fixtures) / MODELS_NAME / f"model_{quant}.tflite"


def reference_file(fixtures: Path, quant: str, source: str, what: str) -> Path:
    """what: "inputs" or "raw" (.npy), or "run" (.jsonl of `tfedge run --headless` frame lines)."""
    suffix = ".jsonl" if what == "run" else ".npy"
    return Path(fixtures) / REFERENCE_NAME / f"{quant}_{source}_{what}{suffix}"


def input_tensors(classifier: Classifier, source: str | Path) -> np.ndarray:
    """Every frame of a video or image folder, decoded and preprocessed as `tfedge run` does."""
    frames = open_source(str(source))
    tensors = []
    try:
        while True:
            ok, frame = frames.read()
            if not ok:
                break
            tensors.append(classifier.prepare(frame))
    finally:
        frames.release()
    return np.concatenate(tensors)


def raw_outputs(classifier: Classifier, inputs: np.ndarray) -> np.ndarray:
    """The output tensor of every input (batch of one each), exactly as the interpreter returns it."""
    interpreter = classifier.interpreter
    outputs = []
    for tensor in inputs:
        interpreter.set_tensor(classifier.input_detail["index"], tensor[None])
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(classifier.output_detail["index"]).copy())
    return np.concatenate(outputs)


def folder_accuracy(classifier: Classifier, folder: Path) -> float:
    """Accuracy on a labelled folder through tfedge.edge.evaluate (what `tfedge verify` measures)."""
    from tfedge.edge.evaluate import evaluate
    from tfedge.edge.labelled import list_classes

    items = [(path, classifier.labels.index(name))
             for name, paths in sorted(list_classes(folder).items()) for path in paths]
    return evaluate(classifier, items, classifier.labels).accuracy
