"""The training report's metrics on plain arrays (no model, no TensorFlow)."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np

from tfedge.edge.evaluation import confusion_matrix
from tfedge.train.report import evaluate_scores


def test_metrics_use_the_one_confusion_matrix_and_rank_confident_mistakes():
    root = Path("/data")
    split = SimpleNamespace(labels=["cat", "dog"], y_val=np.array([0, 0, 1, 1]), root=root,
                            val=[(root / f"{i}.png", 0) for i in range(4)])
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.7, 0.3]])
    metrics = evaluate_scores(split, scores)
    assert metrics["confusion_matrix"] == confusion_matrix([0, 0, 1, 1], [0, 1, 1, 0], 2).tolist()
    assert metrics["confusion_matrix"] == [[1, 1], [1, 1]]
    assert metrics["val_accuracy"] == 0.5
    assert metrics["per_class"]["cat"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert [(m["path"], m["predicted"]) for m in metrics["confident_mistakes"]] == [("1.png", "dog"),
                                                                                   ("3.png", "cat")]


def test_learning_warning_names_chance_and_the_gap_in_one_sentence():
    from tfedge.train.report import _warning_html, learning_warning, summary_table

    at_chance = learning_warning(0.3333, 1.0, 3)
    assert at_chance.startswith("The model learned nothing")
    assert "near chance (33.3% for 3 classes)" in at_chance
    assert "too few images, overfitting, or a data problem" in at_chance and at_chance.count(".") <= 4
    gap = learning_warning(0.60, 1.0, 3)
    assert "far below training accuracy 100.0%" in gap
    assert learning_warning(0.97, 1.0, 3) is None and learning_warning(0.9, None, 10) is None
    metrics = {"per_class": {"a": {"precision": 1, "recall": 1, "f1": 1, "support": 1}}, "val_accuracy": 0.3,
               "val_loss": 1.1, "macro_f1": 0.1, "epochs_run": 1, "train_seconds": 1,
               "images_per_second": 1, "warning": at_chance}
    assert summary_table(metrics, ["a"]).splitlines()[-1] == f"warning: {at_chance}"
    assert _warning_html(metrics).startswith('<p class="warning"><strong>Warning:</strong> The model learned')
    assert _warning_html({"warning": None}) == ""
