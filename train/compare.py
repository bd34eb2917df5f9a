"""The previous model against the new one, per class, after `tfedge train --add`.

Two sets: the previous run's validation set (the new run's is the same one: same data, seed and
share), and the reviewed frames held out of training. Accuracy per true class; the previous
model scores 0 on a class it does not have.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tfedge.edge.card import load_card
from tfedge.run_layout import CARD_FILE, KERAS_MODEL


def previous_predictions(run: Path, x: np.ndarray, labels: list[str], batch_size: int) -> np.ndarray:
    """The previous run's predicted class for each image, as an index into the new `labels`."""
    import keras

    model = keras.models.load_model(Path(run) / KERAS_MODEL, compile=False)
    old_labels = load_card(Path(run) / CARD_FILE).labels
    if not len(x):
        return np.zeros(0, dtype=int)
    predicted = model.predict(x.astype("float32"), batch_size=batch_size, verbose=0).argmax(axis=1)
    return np.asarray([labels.index(old_labels[i]) for i in predicted])


def _per_class(true: np.ndarray, predicted: np.ndarray | None, labels: list[str]) -> dict:
    out = {}
    for index, label in enumerate(labels):
        members = true == index
        if members.any():
            out[label] = {"images": int(members.sum()),
                          "accuracy": None if predicted is None
                          else round(float(np.mean(predicted[members] == index)), 4)}
    return out


def _overall(true: np.ndarray, predicted: np.ndarray | None) -> float | None:
    if predicted is None or not len(true):
        return None
    return round(float(np.mean(predicted == true)), 4)


def compare(previous_run: Path | None, new_model, split, held, new_classes: list[str],
            batch_size: int) -> dict:
    """{"sets": {"validation": ..., "reviewed": ...}, "new_classes", "previous_run"}; each set holds
    overall and per-class accuracy of the previous ("previous") and new ("new") model."""
    have_previous = previous_run is not None and (Path(previous_run) / KERAS_MODEL).is_file()
    sets = {}
    for name, x, y in (("validation", split.x_val, split.y_val), ("reviewed", held.x, held.y)):
        new = new_model.predict(x.astype("float32"), batch_size=batch_size, verbose=0).argmax(axis=1) \
            if len(x) else np.zeros(0, dtype=int)
        old = previous_predictions(previous_run, x, split.labels, batch_size) if have_previous else None
        sets[name] = {"images": int(len(y)), "previous": _overall(y, old), "new": _overall(y, new),
                      "per_class": {label: {"images": n["images"], "previous": p["accuracy"],
                                            "new": n["accuracy"]}
                                    for (label, n), p in zip(_per_class(y, new, split.labels).items(),
                                                             _per_class(y, old, split.labels).values())}}
    sets["reviewed"]["trained_on"] = held.trained_on
    return {"previous_run": str(previous_run) if have_previous else None, "new_classes": new_classes,
            "sets": sets}


def comparison_lines(comparison: dict) -> list[str]:
    """The comparison as text lines (printed after training, and the report's table rows)."""
    def pct(value):
        return "   -  " if value is None else f"{value:6.1%}"

    lines = [f"{'class':24s} {'validation: previous':>20s} {'new':>6s} {'reviewed: previous':>18s} "
             f"{'new':>6s}"]
    sets = comparison["sets"]
    labels = list(dict.fromkeys([*sets["validation"]["per_class"], *sets["reviewed"]["per_class"]]))
    for label in labels:
        v = sets["validation"]["per_class"].get(label, {})
        r = sets["reviewed"]["per_class"].get(label, {})
        lines.append(f"{label[:24]:24s} {pct(v.get('previous')):>20s} {pct(v.get('new')):>6s} "
                     f"{pct(r.get('previous')):>18s} {pct(r.get('new')):>6s}")
    val, rev = sets["validation"], sets["reviewed"]
    lines.append(f"{'all':24s} {pct(val['previous']):>20s} {pct(val['new']):>6s} "
                 f"{pct(rev['previous']):>18s} {pct(rev['new']):>6s}")
    if sets["reviewed"]["trained_on"]:
        lines.append("note: the new model trained on these reviewed frames (--add-val-split 0 or too "
                     "few per class to hold some out)")
    for label in comparison["new_classes"]:
        lines.append(f"new class {label!r}: the previous model did not have it; this model adds it")
    return lines
