"""What the parity check compares: the input tensors and raw output tensors of a model, per frame.

The x86 side (scripts/pi/fixtures.py) records them as the reference; the emulated Pi records
its own with the same functions and compares. Raw means the output tensor as the interpreter
returns it (uint8 for the int8 model), before dequantization.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tfedge.edge.classify import Classifier
from tfedge.edge.live.sources import make_source

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
    """what: "inputs", "raw" (runtime kernels) or "raw_reference" (reference kernels), all .npy;
    or "run" (.jsonl of `tfedge run --headless` frame lines)."""
    suffix = ".jsonl" if what == "run" else ".npy"
    return Path(fixtures) / REFERENCE_NAME / f"{quant}_{source}_{what}{suffix}"


def input_tensors(classifier: Classifier, source: str | Path) -> np.ndarray:
    """Every frame of a video or image folder, decoded and preprocessed as `tfedge run` does."""
    frames = make_source(str(source))
    frames.open()
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


def raw_outputs(interpreter, inputs: np.ndarray) -> np.ndarray:
    """The output tensor of every input (batch of one each), exactly as the interpreter returns it."""
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]
    outputs = []
    for tensor in inputs:
        interpreter.set_tensor(input_index, tensor[None])
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(output_index).copy())
    return np.concatenate(outputs)


def reference_kernels(classifier: Classifier):
    """An interpreter for the same model with TFLite's reference kernels (plain C++, no SIMD).

    The runtime's optimized kernels (XNNPACK, ruy) round differently on Arm and x86; the
    reference kernels do the same integer arithmetic on both, so their int8 outputs must agree.
    """
    module = classifier.backend.module
    interpreter = module.Interpreter(model_content=classifier.model.content,
                                     experimental_op_resolver_type=module.OpResolverType.BUILTIN_REF)
    interpreter.allocate_tensors()
    return interpreter


def folder_accuracy(classifier: Classifier, folder: Path) -> float:
    """Accuracy on a labelled folder through tfedge.edge.evaluation (what `tfedge verify` measures)."""
    from tfedge.edge.evaluation import evaluate
    from tfedge.edge.labelled import list_classes

    items = [(path, classifier.labels.index(name))
             for name, paths in sorted(list_classes(folder).items()) for path in paths]
    return evaluate(classifier, items, classifier.labels).accuracy
