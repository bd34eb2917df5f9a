"""Training runs end to end: transfer learning stages, resume after a kill, --config, report."""

import base64
import json
import os
import re
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from tfedge.main import main
from tfedge.run_layout import CONFIG_FILE, KERAS_MODEL, METRICS_FILE
from tfedge.train.checkpoint import PROGRESS, STATE_FILE, partial_path
from tfedge.train.fit import train
from tfedge.train.hparams import HParams
from tfedge.train.report import CONFUSION_PNG, CURVES_PNG, MISTAKES_PNG, REPORT_HTML


def test_transfer_learning_trains_head_then_top_layers_with_batchnorm_frozen(synthetic_dir, tmp_path):
    import keras

    from tfedge.train.backbones import Backbone
    from tfedge.train.model import BACKBONE_LAYER, build_backbone

    initial = build_backbone(Backbone.MOBILENET_V2_035, (32, 32))
    # stands in for ImageNet weights (no network here): random filters whose BatchNorm
    # statistics are measured on the data, so the frozen backbone gives informative features
    files = sorted(synthetic_dir.rglob("*.png"))
    images = np.stack([cv2.resize(cv2.imread(str(p)), (32, 32)) for p in files])
    for layer in initial.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.0
    initial(images.astype("float32") / 127.5 - 1, training=True)
    weights = tmp_path / "backbone.weights.h5"
    initial.save_weights(weights)
    hparams = HParams(backbone="mobilenet_v2_035", image_size=32, weights=str(weights), epochs=1,
                      fine_tune_epochs=1, fine_tune_layers=12, batch_size=8, early_stopping_patience=0,
                      fine_tune_learning_rate=1e-3,
                      augment="off")  # augmentation has its own test; this one is about the stages
    lines = []
    metrics = train(synthetic_dir, tmp_path / "run", hparams, log=lines.append)
    assert metrics["history"]["stage"] == [1, 2]
    assert any(line.startswith("stage 2: fine-tuning") for line in lines)
    trained = keras.saving.load_model(tmp_path / "run" / KERAS_MODEL).get_layer(BACKBONE_LAYER)
    changed = {layer.name for layer, before in zip(trained.layers, initial.layers)
               if any(not np.array_equal(a, b) for a, b in zip(layer.get_weights(), before.get_weights()))}
    top = {layer.name for layer in initial.layers[-12:]}
    val_loss = metrics["history"]["val_loss"]
    if val_loss[1] < val_loss[0]:  # stage 2's weights are the best: only the top layers moved
        assert changed and changed <= top
    else:  # stage 1's best weights are kept: the backbone is exactly as loaded
        assert not changed
    batchnorm = {layer.name for layer in initial.layers if isinstance(layer, keras.layers.BatchNormalization)}
    assert not changed & batchnorm  # BatchNorm statistics and scales stay as loaded
    config = json.loads((tmp_path / "run" / CONFIG_FILE).read_text())
    assert config["augmentation"] is False and config["placement"]["strategy"] == "default"


def test_augmentation_is_on_by_default_for_transfer_learning_only():
    from tfedge.train.fit import _augment_enabled

    assert _augment_enabled(HParams(backbone="mobilenet_v2_035", weights="imagenet"))
    assert _augment_enabled(HParams(backbone="mobilenet_v2_035", weights="backbone.weights.h5"))
    assert not _augment_enabled(HParams(backbone="mobilenet_v2_035", weights="none"))  # from scratch
    assert not _augment_enabled(HParams())  # small CNN on tiny images
    assert _augment_enabled(HParams(augment="on")) and not _augment_enabled(
        HParams(backbone="mobilenet_v2", weights="imagenet", augment="off"))


def test_report_is_self_contained_and_metrics_are_complete(trained_run):
    page = (trained_run / REPORT_HTML).read_text()
    assert not re.search(r"(src|href)=\"(?!data:)", page)  # nothing fetched: opens offline
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 3
    for name, encoded in zip((CURVES_PNG, CONFUSION_PNG, MISTAKES_PNG), images):
        assert base64.b64decode(encoded) == (trained_run / name).read_bytes()
    metrics = json.loads((trained_run / METRICS_FILE).read_text())
    assert len(metrics["per_class"]) == 10 and "Sneaker" in page
    assert sum(map(sum, metrics["confusion_matrix"])) == metrics["val_images"] == 120
    correct = sum(metrics["confusion_matrix"][i][i] for i in range(10))
    assert metrics["val_accuracy"] == pytest.approx(correct / 120)
    scores = [m["score"] for m in metrics["confident_mistakes"]]
    assert scores == sorted(scores, reverse=True) and all(m["true"] != m["predicted"]
                                                          for m in metrics["confident_mistakes"])
    config = json.loads((trained_run / CONFIG_FILE).read_text())
    assert {"tfedge_version", "tensorflow_version", "keras_version", "dataset_hash"} <= set(config)
    assert config["dataset_files"] == 600 and set(config["hparams"]) == set(HParams.field_names())


def test_config_reproduces_the_run(trained_run, tmp_path, capsys):
    assert main(["train", "--config", str(trained_run / CONFIG_FILE), "--out", str(tmp_path / "again")]) == 0
    assert "validation accuracy" in capsys.readouterr().out
    first = json.loads((trained_run / CONFIG_FILE).read_text())
    second = json.loads((tmp_path / "again" / CONFIG_FILE).read_text())
    assert second["hparams"] == first["hparams"] and second["dataset_hash"] == first["dataset_hash"]
    first_metrics = json.loads((trained_run / METRICS_FILE).read_text())
    second_metrics = json.loads((tmp_path / "again" / METRICS_FILE).read_text())
    # TensorFlow on a CPU is not bit-deterministic across runs (thread scheduling in oneDNN), and the
    # fixture validates on 120 images (one image is 0.83 points): same class of result, not same digits
    assert second_metrics["val_accuracy"] == pytest.approx(first_metrics["val_accuracy"], abs=0.15)


def test_resume_continues_a_killed_run_from_its_last_finished_epoch(fashion_dir, tmp_path):
    out = tmp_path / "runs" / "killed"
    command = [sys.executable, "-m", "tfedge", "train", str(fashion_dir / "train"), "--out", str(out),
               "--epochs", "8", "--batch-size", "16", "--early-stopping-patience", "0"]
    state_file = partial_path(out) / PROGRESS / STATE_FILE
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while process.poll() is None:
            if state_file.is_file() and json.loads(state_file.read_text())["stages"]["1"]["epochs_done"] >= 2:
                process.send_signal(signal.SIGKILL)
                break
            time.sleep(0.05)
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert not out.exists()  # the run folder only appears when complete
    done = json.loads(state_file.read_text())["stages"]["1"]["epochs_done"]
    assert done >= 2
    code = main(["train", str(fashion_dir / "train"), "--out", str(out), "--epochs", "8",
                 "--batch-size", "16", "--early-stopping-patience", "0"])
    assert code == 5  # an interrupted run is not silently thrown away
    lines = []
    hparams = HParams(epochs=8, batch_size=16, early_stopping_patience=0)
    metrics = train(fashion_dir / "train", out, hparams, resume=True, log=lines.append)
    assert f"resuming stage 1 after epoch {done}" in lines
    assert metrics["epochs_run"] == 8 and len(metrics["history"]["val_loss"]) == 8
    assert not partial_path(out).exists() and (out / CONFIG_FILE).is_file()
    assert not (out / PROGRESS).exists()
    os.environ.pop("TF_CONFIG", None)
