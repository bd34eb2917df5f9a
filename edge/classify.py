"""Scores and top-k on plain arrays, and a Classifier that builds its interpreter once."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tfedge.edge.card import ModelCard
from tfedge.edge.interpreter import (
    Backend,
    cpu_sibling,
    is_edgetpu_model,
    load_edgetpu_delegate,
    make_interpreter,
    resolve_backend,
)
from tfedge.edge.model_file import ModelFile, card_from_interpreter, read_model_file
from tfedge.edge.preprocess import pixels_are_input, preprocess, to_pixels
from tfedge.errors import DependencyError, ModelError


def dequantize(raw: np.ndarray, output_detail: dict) -> np.ndarray:
    """Output tensor values as float32 (unchanged when the tensor is float)."""
    scale, zero_point = output_detail.get("quantization", (0.0, 0)) or (0.0, 0)
    values = raw.astype(np.float32)
    if scale:
        values = (values - zero_point) * scale
    return values


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def to_scores(values: np.ndarray, outputs: str = "probabilities") -> np.ndarray:
    """Class scores in [0, 1] from dequantized outputs (applies softmax to logits)."""
    values = np.asarray(values, dtype=np.float32).reshape(-1)
    if outputs == "logits":
        return softmax(values)
    return values


def top_k(scores: np.ndarray, k: int = 1, score_threshold: float = 0.0) -> list[tuple[int, float]]:
    """The k best (index, score) pairs at or above `score_threshold`, best first."""
    k = max(1, min(int(k), scores.shape[-1]))
    best = np.argpartition(-scores, k - 1)[:k]
    best = best[np.argsort(-scores[best], kind="stable")]
    return [(int(i), float(scores[i])) for i in best if scores[i] >= score_threshold]


@dataclass
class Prediction:
    scores: np.ndarray
    index: int
    score: float
    label: str
    inference_ms: float


class Classifier:
    """A .tflite model ready to classify BGR frames.

    Args:
        model: path to a .tflite file, or a ModelFile already read.
        num_threads: interpreter threads (None: the backend's default).
        backend: "auto", "litert", "tflite-runtime" or "tensorflow".
        delegates: interpreter delegates (the Edge TPU's, for example).
    """

    def __init__(self, model, num_threads: int | None = None, backend: str | Backend = "auto",
                 delegates: list | None = None) -> None:
        self.model: ModelFile = model if isinstance(model, ModelFile) else read_model_file(model)
        self.interpreter, self.backend = make_interpreter(
            self.model.content, num_threads=num_threads, backend=backend, delegates=delegates
        )
        self.input_detail = self.interpreter.get_input_details()[0]
        self.output_detail = self.interpreter.get_output_details()[0]
        self.card: ModelCard = card_from_interpreter(self.model, self.input_detail, self.output_detail)
        self._input_index = self.input_detail["index"]
        self._output_index = self.output_detail["index"]
        self._input_shape = tuple(int(size) for size in self.input_detail["shape"])
        self._pixels_are_input = pixels_are_input(self.card, self.input_detail)

    @property
    def labels(self) -> list[str]:
        return self.card.labels

    def label_of(self, index: int) -> str:
        return self.card.labels[index] if index < len(self.card.labels) else str(index)

    def fits(self, tensor: np.ndarray | None) -> bool:
        """True when `tensor` was prepared for this classifier's input (shape and dtype)."""
        return (tensor is not None and tensor.shape == self._input_shape
                and tensor.dtype == self.input_detail["dtype"])

    def load_frame(self, frame: np.ndarray) -> None:
        """Preprocess `frame` into the interpreter's input buffer: written in place, without a
        copy, when the model takes the pixels themselves (uint8 models); else through set_tensor."""
        if not self._pixels_are_input:
            self.interpreter.set_tensor(self._input_index, self.prepare(frame))
            return
        buffer = self.interpreter.tensor(self._input_index)()
        to_pixels(frame, self.card, out=buffer[0])
        del buffer  # the interpreter refuses to run while a view of its buffers is alive

    def prepare(self, frame: np.ndarray) -> np.ndarray:
        """The input tensor for one BGR frame (safe to call from another thread than invoke)."""
        return preprocess(frame, self.card, self.input_detail)

    def run(self, frame: np.ndarray | None = None,
            tensor: np.ndarray | None = None) -> tuple[np.ndarray, float]:
        """Invoke the interpreter on one BGR uint8 frame, or on a tensor already made by `prepare`
        (a tensor made for another classifier's input is ignored and `frame` prepared again).
        Returns (a copy of the raw output tensor, milliseconds in invoke()); `prediction` makes
        scores of it, in any thread."""
        if self.fits(tensor):
            self.interpreter.set_tensor(self._input_index, tensor)
        elif frame is not None:
            self.load_frame(frame)
        else:
            raise ValueError("classify needs a frame, or a tensor prepared for this model")
        start = time.perf_counter()
        self.interpreter.invoke()
        inference_ms = (time.perf_counter() - start) * 1000.0
        return self.interpreter.get_tensor(self._output_index), inference_ms

    def prediction(self, raw: np.ndarray, inference_ms: float = 0.0) -> Prediction:
        """The float scores and top label of one raw output tensor from `run`."""
        scores = to_scores(dequantize(raw, self.output_detail), self.card.outputs)
        index = int(np.argmax(scores))
        return Prediction(scores, index, float(scores[index]), self.label_of(index), inference_ms)

    def classify(self, frame: np.ndarray | None = None, tensor: np.ndarray | None = None) -> Prediction:
        """Classify one BGR uint8 frame, or a tensor already made by `prepare` (see `run`)."""
        return self.prediction(*self.run(frame, tensor))


def open_classifier(model_path: str | Path, num_threads: int | None = None, backend: str = "auto",
                    edgetpu: bool = False, fallback_cpu: bool = False, device: str | None = None,
                    log=None) -> Classifier:
    """A Classifier for the command line's model options, Edge TPU included.

    With `edgetpu`, the delegate is loaded for the model (an `_edgetpu.tflite`); when that fails
    and `fallback_cpu` is set, the CPU model beside it runs instead. An Edge TPU model without
    `edgetpu` runs its CPU sibling when `fallback_cpu` is set, else raises ModelError.
    """
    log = log or (lambda message: print(message, file=sys.stderr))
    model = read_model_file(model_path)
    resolved = resolve_backend(backend)
    if edgetpu:
        if not is_edgetpu_model(model.content):
            raise ModelError(f"{model.path.name} is not compiled for the Edge TPU; compile it with "
                             "tfedge convert --quant edgetpu, or run it without --edgetpu")
        try:
            delegate = load_edgetpu_delegate(resolved, device=device)
        except DependencyError as error:
            if not fallback_cpu:
                raise
            log(f"tfedge run: {error.args[0].split(';')[0]}; --fallback-cpu: running "
                f"{cpu_sibling(model.path).name} on the CPU")
            return Classifier(cpu_sibling(model.path), num_threads, resolved)
        return Classifier(model, num_threads, resolved, delegates=[delegate])
    if fallback_cpu and is_edgetpu_model(model.content):
        log(f"tfedge run: {model.path.name} is an Edge TPU model; --fallback-cpu: running "
            f"{cpu_sibling(model.path).name} on the CPU")
        return Classifier(cpu_sibling(model.path), num_threads, resolved)
    return Classifier(model, num_threads, resolved)
