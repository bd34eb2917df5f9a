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
