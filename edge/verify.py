"""`tfedge verify`'s work: a .tflite's accuracy on a labelled folder, through the device's path.

The folder holds one subfolder per class, named as the model's labels (its card, or the
labels.txt beside a model from elsewhere). Decoding and preprocessing are the device's own.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tfedge.edge.classify import Classifier
from tfedge.edge.evaluate import Evaluation, evaluate
from tfedge.edge.labelled import list_classes
from tfedge.errors import DataError


def labelled_items(data_dir: str | Path, labels: list[str]) -> list[tuple[Path, int]]:
    """(image path, label index) for every image of a class folder; folders must be labels."""
    classes = list_classes(Path(data_dir))
    unknown = [name for name in classes if name not in labels]
    if unknown:
        shown = ", ".join(labels[:12]) + (", ..." if len(labels) > 12 else "")
        raise DataError(f"{data_dir}: class folder(s) {', '.join(unknown)} are not among the model's "
                        f"labels ({shown}); name each class folder as one of the labels")
    return [(path, labels.index(name)) for name, paths in classes.items() for path in paths]


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
