"""Accuracy of a .tflite on labelled images, through the device's own decode and preprocessing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tfedge.edge.classify import Classifier
from tfedge.edge.preprocess import decode_image


@dataclass
class Evaluation:
    labels: list[str]
    true: np.ndarray
    predicted: np.ndarray
    inference_ms: list[float]
    skipped: list[dict]

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.true == self.predicted)) if len(self.true) else 0.0

    def per_class_accuracy(self) -> dict[str, float]:
        result = {}
        for index, label in enumerate(self.labels):
            mask = self.true == index
            if mask.any():
                result[label] = float(np.mean(self.predicted[mask] == index))
        return result

    def confusion(self) -> np.ndarray:
        """[true class, predicted class] counts over all labels."""
        size = len(self.labels)
        matrix = np.zeros((size, size), dtype=np.int64)
        valid = (self.predicted >= 0) & (self.predicted < size) if len(self.predicted) else []
        np.add.at(matrix, (self.true[valid], self.predicted[valid]), 1)
        return matrix

    @property
    def mean_inference_ms(self) -> float:
        return float(np.mean(self.inference_ms)) if self.inference_ms else 0.0


def evaluate(classifier: Classifier, items: list[tuple[Path, int]], labels: list[str]) -> Evaluation:
    """Classify every (path, class index) item; `labels` names the indexes of the items."""
    true, predicted, times, skipped = [], [], [], []
    for path, label in items:
        try:
            frame = decode_image(path)
        except ValueError as error:
            skipped.append({"path": str(path), "reason": str(error)})
            continue
        prediction = classifier.classify(frame)
        true.append(label)
        predicted.append(prediction.index)
        times.append(prediction.inference_ms)
    return Evaluation(labels, np.asarray(true, dtype=np.int64), np.asarray(predicted, dtype=np.int64),
                      times, skipped)

