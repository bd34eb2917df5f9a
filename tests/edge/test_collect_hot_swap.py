"""A live `tfedge run --collect` through a hot swap: the real process, the real model files.

Kept frames classified before the swap name the first model's sha256 and labels, those after it
the new model's (here with other class names, so a mix-up cannot pass).
"""

import hashlib

import cv2
from live_run import LiveRun
from test_hot_swap import changed_card, install

from tfedge.edge.card import read_embedded_card
from tfedge.edge.collection import read_collection


def test_frames_kept_after_a_hot_swap_carry_the_new_model(tflite_models, slow_video, tmp_path):
    first = tflite_models["float32"].read_bytes()
    labels = read_embedded_card(first).labels
    new_labels = [f"new_{label}" for label in labels]
    second = changed_card(tflite_models["int8"].read_bytes(), labels=new_labels)
    path, folder = tmp_path / "model.tflite", tmp_path / "collected"
    sha_first = install(first, path)
    run = LiveRun(path, "--source", str(slow_video), "--realtime", "--collect", str(folder),
                  "--collect-margin", "1", "--collect-audit-rate", "0", "--collect-per-minute", "0",
                  "--collect-per-hour", "0", "--collect-class-quota", "0", "--collect-duplicate-bits", "-1")
    try:
        start = run.wait_for(lambda line: line.get("frame", -1) >= 3, what="a few results")
        sha_second = install(second, path)
        change = run.event("model_change", after=start["frame"])
        run.wait_for(lambda line: line.get("frame", -1) >= change["frame"] + 4, what="frames after the swap")
    finally:
        summary = run.stop()
    assert summary["collect"]["stopped"] is None
    kept, problems = read_collection(folder)
    assert problems == []
    before = [f for f in kept if f.frame < change["frame"]]
    after = [f for f in kept if f.frame >= change["frame"]]
    assert before and after
    assert {(f.model_sha256, tuple(f.labels)) for f in before} == {(sha_first, tuple(labels))}
    assert {(f.model_sha256, tuple(f.labels)) for f in after} == {(sha_second, tuple(new_labels))}
    assert {f.label for f in before} <= set(labels) and {f.label for f in after} <= set(new_labels)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha_second
    card = read_embedded_card(second)
    view = cv2.imread(str(folder / f"{after[-1].id}.view.jpg"), cv2.IMREAD_UNCHANGED)
    assert view is not None and sorted(view.shape[:2]) == sorted(card.input_size)
