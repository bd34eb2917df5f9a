"""MediaPipe Tasks' ImageClassifier and tfedge, side by side on the same image files.

MediaPipe runs in its own cached venv (tests/side_venv.py) through side_tools/mediapipe_classify.py;
tfedge runs here through its device path (decode_image, the card's preprocessing, Classifier).
Used by the interop tests and by benchmarks/metadata_interop.py.
"""

from __future__ import annotations

import json
import subprocess
import warnings
from pathlib import Path

from side_venv import side_python

SCRIPT = Path(__file__).parent / "side_tools" / "mediapipe_classify.py"


def mediapipe_classify(model: Path, images: list[Path]) -> dict:
    """{"ok": True, "results": [[[index, name, score], ...] per image]} or {"ok": False, "error"}."""
    result = subprocess.run([str(side_python("mediapipe")), str(SCRIPT), str(model)],
                            input=json.dumps([str(p) for p in images]), capture_output=True,
                            text=True, timeout=600, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"mediapipe_classify failed: {result.stderr.strip()[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def tfedge_classify(model: Path, images: list[Path]) -> tuple[list[str], list[list[float]], list[list]]:
    """(labels, scores per image, warnings) from tfedge's device path."""
    from tfedge.edge.classify import Classifier
    from tfedge.edge.preprocess import decode_image

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        classifier = Classifier(model)
    scores = [classifier.classify(decode_image(path)).scores.tolist() for path in images]
    return classifier.labels, scores, [str(w.message) for w in caught]


def compare(model: Path, images: list[Path], truth: list[str] | None = None) -> dict:
    """Top-1 agreement (by name), largest score difference, accuracies of both, for one model."""
    side = mediapipe_classify(model, images)
    labels, scores, caught = tfedge_classify(model, images)
    report = {"loads": side["ok"], "error": side.get("error"), "images": len(images),
              "tfedge_warnings": caught}
    if not side["ok"]:
        return report
    agree, named, largest = 0, 0, 0.0
    mediapipe_top, tfedge_top = [], []
    for categories, ours in zip(side["results"], scores):
        theirs = max(categories, key=lambda c: c[2])
        top = max(range(len(ours)), key=ours.__getitem__)
        mediapipe_top.append(theirs[1] or str(theirs[0]))
        tfedge_top.append(labels[top])
        agree += theirs[1] == labels[top]
        named += bool(theirs[1])
        largest = max(largest, max(abs(c[2] - ours[c[0]]) for c in categories))
    report.update(agreement=agree / len(images), named=named / len(images), largest_score_difference=largest)
    if truth is not None:
        report["mediapipe_accuracy"] = sum(a == b for a, b in zip(mediapipe_top, truth)) / len(truth)
        report["tfedge_accuracy"] = sum(a == b for a, b in zip(tfedge_top, truth)) / len(truth)
    return report
