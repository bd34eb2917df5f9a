"""`tfedge train --config runs/OLD/config.json --add REVIEWED`: reviewed frames join the training."""

import json
import shutil
from pathlib import Path

from tfedge.main import main

DATA = 3


def reviewed_folder(fashion_dir, folder, per_class: int = 4):
    """REVIEWED/<class>/*.jpg from held-out test images, and a new class ('Hat') of 3 images."""
    classes = sorted(p for p in (fashion_dir / "test").iterdir() if p.is_dir())
    for class_dir in classes[:3]:
        (folder / class_dir.name).mkdir(parents=True)
        for image in sorted(class_dir.iterdir())[:per_class]:
            shutil.copy(image, folder / class_dir.name / image.name)
    (folder / "Hat").mkdir()
    for image in sorted(classes[4].iterdir())[:3]:
        shutil.copy(image, folder / "Hat" / image.name)
    return folder


def test_add_trains_with_reviewed_frames_and_compares_with_the_old_model(capsys, trained_run,
                                                                         fashion_dir, tmp_path):
    reviewed = reviewed_folder(fashion_dir, tmp_path / "reviewed")
    out = tmp_path / "new"
    code = main(["train", "--config", str(trained_run / "config.json"), "--add", str(reviewed),
                 "--add-weight", "2", "--out", str(out), "--epochs", "1"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "new class, 'Hat'" in printed and "validation: previous" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    old_metrics = json.loads((trained_run / "metrics.json").read_text())
    comparison = metrics["comparison"]
    assert comparison["new_classes"] == ["Hat"]
    validation, held = comparison["sets"]["validation"], comparison["sets"]["reviewed"]
    assert validation["images"] == old_metrics["val_images"]  # the old validation set, unchanged
    assert validation["previous"] == round(old_metrics["val_accuracy"], 4)
    assert held["images"] == 4 and not held["trained_on"]  # one of each reviewed class held out
    assert held["per_class"]["Hat"]["previous"] == 0.0  # the old model has no such class
    assert metrics["train_images"] == old_metrics["train_images"] + 4 * 3 + 3 - 4
    card = json.loads((out / "card.json").read_text())
    assert "Hat" in card["labels"] and len(card["labels"]) == 11
    config = json.loads((out / "config.json").read_text())
    assert config["added"]["weight"] == 2.0
    assert "Compared with the previous model" in (out / "report.html").read_text()


def test_add_needs_the_training_format(capsys, trained_run, fashion_dir, tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    shutil.copy(next((fashion_dir / "test").glob("*/*.png")), flat / "a.png")
    for folder, said in ((flat, "images directly in the folder"), (tmp_path / "missing", "no such folder"),
                         (tmp_path, "no class folder holds images")):
        if folder == tmp_path:
            (tmp_path / "empty_class").mkdir()
            shutil.rmtree(flat)
        code = main(["train", "--config", str(trained_run / "config.json"), "--add", str(folder),
                     "--out", str(tmp_path / "never")])
        error = capsys.readouterr().err.strip().splitlines()
        assert code == DATA and len(error) == 1 and said in error[0] and "<class>/*.jpg" in error[0]
        assert not (tmp_path / "never").exists()


def test_add_weight_must_be_positive(capsys, trained_run, fashion_dir, tmp_path):
    reviewed = reviewed_folder(fashion_dir, tmp_path / "reviewed", per_class=1)
    code = main(["train", "--config", str(trained_run / "config.json"), "--add", str(reviewed),
                 "--add-weight", "0", "--out", str(tmp_path / "never")])
    assert code == 2 and "--add-weight 0.0 must be above 0" in capsys.readouterr().err
    assert not (tmp_path / "never").exists()


def test_class_weights_after_add_count_the_original_data_only():
    import numpy as np

    from tfedge.train.dataset import Split

    y = np.array([0, 0, 1, 1, 1, 1, 1, 2])  # 4 original images, then 4 reviewed ones
    empty = np.zeros((8, 1, 1, 1), np.uint8)
    split = Split(Path("."), ["a", "b", "c"], [], [], empty, y, empty[:0], y[:0], original_train=4)
    counts = np.array([2, 2, 1])  # "b"'s 3 reviewed frames are not counted; "c" has only reviewed
    assert np.allclose(split.class_weights(), counts.sum() / (3 * counts))
