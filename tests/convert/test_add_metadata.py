"""`tfedge metadata`: standard metadata for a model from elsewhere, and its bad input."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from elsewhere_models import plain_model

from tfedge.edge.tflite.metadata import read_standard_metadata
from tfedge.main import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def plain(trained_run, tmp_path_factory) -> tuple[Path, Path]:
    """A plain TFLiteConverter file (RGB input in [0, 1], no metadata) and its labels.txt."""
    from tfedge.convert.run_folder import open_run

    run = open_run(trained_run)
    out = tmp_path_factory.mktemp("plain")
    path = out / "plain.tflite"
    path.write_bytes(plain_model(run.saved_model, "0,1"))
    labels = out / "my_labels.txt"
    labels.write_text("\n".join(run.card.labels) + "\n")
    return path, labels


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.real_component("mediapipe")
def test_metadata_makes_a_plain_model_run_everywhere(plain, tmp_path, fashion_dir, capsys):
    from mediapipe_side import compare

    model, labels = plain
    before = _digest(model)
    out = tmp_path / "with_metadata.tflite"
    assert main(["metadata", str(model), "--labels", str(labels), "--input-range", "0,1",
                 "--out", str(out), "--author", "Ada", "--license", "Apache-2.0"]) == 0
    assert _digest(model) == before
    metadata = read_standard_metadata(out.read_bytes())
    assert (metadata.author, metadata.license, metadata.name) == ("Ada", "Apache-2.0", "plain")
    assert (metadata.inputs[0].mean, metadata.inputs[0].std) == ([0.0], [255.0])
    images = sorted((fashion_dir / "test").glob("*/*.png"))[::4]
    truth = [path.parent.name for path in images]
    result = compare(out, images, truth)
    assert result["loads"] and result["agreement"] == 1.0 and result["tfedge_warnings"] == []
    assert result["tfedge_accuracy"] == result["mediapipe_accuracy"] > 0.5


def _two_input_model(tmp_path: Path) -> Path:
    import tensorflow as tf

    first, second = tf.keras.Input((8, 8, 3)), tf.keras.Input((8, 8, 3))
    output = tf.keras.layers.Dense(2)(tf.keras.layers.Flatten()(first + second))
    path = tmp_path / "two.tflite"
    model = tf.keras.Model([first, second], output)
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    return path


def _vector_model(tmp_path: Path) -> Path:
    import tensorflow as tf

    model = tf.keras.Sequential([tf.keras.Input((10,)), tf.keras.layers.Dense(3)])
    path = tmp_path / "vector.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    return path


def test_bad_input_gives_one_line_a_code_and_leaves_the_model_alone(plain, tflite_models, tmp_path, capsys):
    model, labels = plain
    nine = tmp_path / "nine.txt"
    nine.write_text("\n".join(labels.read_text().splitlines()[:9]) + "\n")
    ours = tflite_models["int8"]
    cases = [
        (model, ["--labels", str(nine), "--input-range", "0,1"], 3, "9 labels"),
        (model, ["--labels", str(labels), "--mean", "0,0", "--std", "255"], 2, "--mean has 2 values"),
        (model, ["--labels", str(labels)], 2, "--input-range"),
        (model, ["--labels", str(labels), "--input-range", "0,2"], 2, "is not one of"),
        (_two_input_model(tmp_path), ["--labels", str(labels), "--input-range", "0,1"], 4, "2 inputs"),
        (_vector_model(tmp_path), ["--labels", str(labels), "--input-range", "0,1"], 4, "not an image"),
        (ours, ["--labels", str(labels), "--input-range", "0,255"], 5, "--overwrite"),
        (model, ["--labels", str(labels), "--input-range", "0,1", "--out", str(model)], 5,
         "the model itself"),
    ]
    for path, options, code, words in cases:
        before = _digest(path)
        out = tmp_path / "out.tflite"
        arguments = ["metadata", str(path), *options]
        if "--out" not in options:
            arguments += ["--out", str(out)]
        assert main(arguments) == code, (path.name, options)
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in err, err
        assert _digest(path) == before and not out.exists()
    out = tmp_path / "replaced.tflite"
    assert main(["metadata", str(ours), "--labels", str(labels), "--input-range", "0,255", "--out",
                 str(out), "--overwrite"]) == 0
    assert read_standard_metadata(out.read_bytes()).name == "model_int8"
