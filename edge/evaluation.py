"""Accuracy of a .tflite on labelled images, through the device's own decode and preprocessing.

`tfedge verify` reports it per class with a confusion matrix; `tfedge convert` measures each
variant with it. The folder holds one subfolder per class, named as the model's labels (its
card, or the labels.txt beside a model from elsewhere).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tfedge.edge.classify import Classifier
from tfedge.edge.labelled import labelled_items
from tfedge.edge.preprocess import decode_image, model_size
from tfedge.errors import DataError


def confusion_matrix(true, predicted, size: int) -> np.ndarray:
    """[true class, predicted class] counts of `size` classes; predictions outside them are left out.

    The one confusion matrix of tfedge: `tfedge verify` and the training report both use it.
    """
    true = np.asarray(true, dtype=np.int64)
    predicted = np.asarray(predicted, dtype=np.int64)
    matrix = np.zeros((size, size), dtype=np.int64)
    valid = (predicted >= 0) & (predicted < size)
    np.add.at(matrix, (true[valid], predicted[valid]), 1)
    return matrix


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
        return confusion_matrix(self.true, self.predicted, len(self.labels))

    @property
    def mean_inference_ms(self) -> float:
        return float(np.mean(self.inference_ms)) if self.inference_ms else 0.0


def evaluate(classifier: Classifier, items: list[tuple[Path, int]], labels: list[str]) -> Evaluation:
    """Classify every (path, class index) item; `labels` names the indexes of the items."""
    true, predicted, times, skipped = [], [], [], []
    for path, label in items:
        try:
            frame = decode_image(path, model_size(classifier.card))
        except ValueError as error:
            skipped.append({"path": str(path), "reason": str(error)})
            continue
        prediction = classifier.classify(frame)
        true.append(label)
        predicted.append(prediction.index)
        times.append(prediction.inference_ms)
    return Evaluation(labels, np.asarray(true, dtype=np.int64), np.asarray(predicted, dtype=np.int64),
                      times, skipped)


def verify(classifier: Classifier, data_dir: str | Path) -> Evaluation:
    """Evaluate `classifier` on DATA_DIR/<label>/ images. Raises DataError for a mismatched folder."""
    evaluation = evaluate(classifier, labelled_items(data_dir, classifier.labels), classifier.labels)
    if not len(evaluation.true):
        raise DataError(f"{data_dir}: none of the images could be decoded; add readable images")
    return evaluation


def format_report(evaluation: Evaluation) -> str:
    """Accuracy, per-class accuracy and the confusion matrix, as plain text."""
    labels = evaluation.labels
    present = sorted(set(evaluation.true.tolist()) | set(evaluation.predicted.tolist()))
    present = [i for i in present if i < len(labels)]
    matrix = evaluation.confusion()
    per_class = evaluation.per_class_accuracy()
    counts = np.bincount(evaluation.true, minlength=len(labels))
    width = max(len(labels[i]) for i in present)
    lines = [f"accuracy {evaluation.accuracy * 100:.2f}% on {len(evaluation.true)} images "
             f"({len(evaluation.skipped)} skipped), mean inference {evaluation.mean_inference_ms:.3f} ms",
             "", f"{'class':{width}s}  images  accuracy"]
    lines += [f"{labels[i]:{width}s}  {counts[i]:6d}  {per_class[labels[i]] * 100:7.2f}%"
              for i in present if labels[i] in per_class]
    lines += ["", "confusion (rows: true class, columns: predicted, in the order above)"]
    lines += [f"{labels[i]:{width}s}  " + " ".join(f"{matrix[i, j]:5d}" for j in present) for i in present]
    return "\n".join(lines)
