"""Convert's check of each variant: device-path accuracy beside the Keras model's on the same pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tfedge.edge.card import ModelCard
from tfedge.edge.classify import Classifier
from tfedge.edge.evaluation import Evaluation, evaluate
from tfedge.edge.labelled import load_pixels


def keras_reference(keras_model: Path, items: list[tuple[Path, int]], card: ModelCard) -> Evaluation:
    """Evaluate runs/NAME/model.keras on `items` preprocessed exactly as the device does."""
    import keras

    model = keras.models.load_model(str(keras_model), compile=False)
    pixels, true, _ = load_pixels(items, card)
    scores = model.predict(pixels.astype(np.float32), batch_size=256, verbose=0)
    return Evaluation(card.labels, true.astype(np.int64), np.argmax(scores, axis=-1).astype(np.int64), [], [])


def largest_drop(evaluation: Evaluation, reference: Evaluation) -> tuple[str, float]:
    """(label, percentage points) of the class that lost the most accuracy against the reference."""
    ours, theirs = evaluation.per_class_accuracy(), reference.per_class_accuracy()
    drops = {label: (theirs[label] - ours.get(label, 0.0)) * 100 for label in theirs}
    label = max(drops, key=drops.get)
    return label, drops[label]


def verify_variant(path: Path, items: list[tuple[Path, int]], reference: Evaluation | None) -> dict:
    """Accuracy, difference from the reference and speed of one .tflite, as a table row's fields."""
    classifier = Classifier(path)
    evaluation = evaluate(classifier, items, classifier.labels)
    row = {"accuracy": evaluation.accuracy, "images": int(len(evaluation.true)),
           "mean_inference_ms": evaluation.mean_inference_ms}
    if reference is not None:
        row["keras_accuracy"] = reference.accuracy
        row["difference_pp"] = (evaluation.accuracy - reference.accuracy) * 100
        row["largest_drop_class"], row["largest_drop_pp"] = largest_drop(evaluation, reference)
    return row


def format_table(rows: list[dict]) -> str:
    """One line per variant: size, accuracy, difference from Keras, worst class, speed, time."""
    header = (f"{'variant':8s} {'size':>10s} {'accuracy':>9s} {'vs keras':>9s}  "
              f"{'largest drop (class)':28s} {'ms/image':>8s} {'convert s':>9s}")
    lines = [header]
    for row in rows:
        size = f"{row['bytes'] / 1024:.1f} KiB"
        accuracy = f"{row['accuracy'] * 100:.2f}%" if "accuracy" in row else "-"
        difference = f"{row['difference_pp']:+.2f} pp" if "difference_pp" in row else "-"
        drop = "-"
        if row.get("largest_drop_pp", 0) > 0:
            drop = f"{row['largest_drop_pp']:.2f} pp ({row['largest_drop_class']})"
        elif "largest_drop_pp" in row:
            drop = "none"
        speed = f"{row['mean_inference_ms']:.3f}" if "mean_inference_ms" in row else "-"
        lines.append(f"{row['variant']:8s} {size:>10s} {accuracy:>9s} {difference:>9s}  {drop:28s} "
                     f"{speed:>8s} {row['convert_seconds']:9.1f}")
    return "\n".join(lines)
