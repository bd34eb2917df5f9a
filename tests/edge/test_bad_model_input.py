"""Models that do not fit `tfedge run`: each gives one line and a documented exit code."""

import json

import pytest

from tfedge.edge.card import strip_embedded
from tfedge.main import main


def test_card_less_model_without_labels_shows_indexes_with_a_warning(capsys, tflite_models, fashion_dir,
                                                                     tmp_path):
    bare = tmp_path / "bare.tflite"
    bare.write_bytes(strip_embedded(tflite_models["int8"].read_bytes()))
    code = main(["run", str(bare), "--source", str(fashion_dir / "test"), "--headless", "--max-frames", "4"])
    captured = capsys.readouterr()
    assert code == 0
    warnings = [line for line in captured.err.splitlines() if "warning:" in line]
    assert len(warnings) == 1 and "no embedded card and no labels.txt" in warnings[0]
    frames = [json.loads(line) for line in captured.out.splitlines()[:-1]]
    assert len(frames) == 4 and all(f["label"] in [str(i) for i in range(10)] for f in frames)


def test_card_less_model_with_labels_txt_uses_them(capsys, tflite_models, fashion_dir, tmp_path):
    bare = tmp_path / "bare.tflite"
    bare.write_bytes(strip_embedded(tflite_models["int8"].read_bytes()))
    names = [f"class {i}" for i in range(10)]
    (tmp_path / "labels.txt").write_text("".join(f"{i} {name}\n" for i, name in enumerate(names)))
    code = main(["run", str(bare), "--source", str(fashion_dir / "test"), "--headless", "--max-frames", "2"])
    captured = capsys.readouterr()
    assert code == 0 and "warning" not in captured.err
    assert json.loads(captured.out.splitlines()[0])["label"] in names


def test_model_whose_input_is_not_an_image(capsys, tmp_path, fashion_dir):
    tf = pytest.importorskip("tensorflow", reason="making a non-image .tflite needs TensorFlow")
    model = tf.keras.Sequential([tf.keras.Input((10,)), tf.keras.layers.Dense(3, activation="softmax")])
    path = tmp_path / "vector.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    code = main(["run", str(path), "--source", str(fashion_dir / "test"), "--headless"])
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 4 and "is not an image" in line and "[1, 10]" in line
