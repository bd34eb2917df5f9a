"""Bad input to `tfedge convert`: one line on stderr, a documented exit code, nothing half-written."""

import json
import shutil

import pytest

from tfedge.main import main

DATA_ERROR, MODEL_ERROR, OUTPUT_ERROR, USAGE_ERROR = 3, 4, 5, 2


def run_cli(capsys, *args):
    code = main(list(args))
    err = [line for line in capsys.readouterr().err.strip().splitlines()
           if line.startswith("tfedge convert")]
    assert len(err) <= 1
    return code, err[-1] if err else ""


@pytest.fixture
def run_copy(trained_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(trained_run, copy, ignore=shutil.ignore_patterns("*.tflite"))
    return copy


def test_a_folder_that_is_not_a_run(capsys, tmp_path):
    (tmp_path / "photos").mkdir()
    code, line = run_cli(capsys, "convert", str(tmp_path / "photos"))
    assert code == MODEL_ERROR and "not a tfedge run folder" in line


def test_a_damaged_saved_model(capsys, run_copy):
    (run_copy / "saved_model" / "saved_model.pb").write_bytes(b"not a protobuf")
    code, line = run_cli(capsys, "convert", str(run_copy), "--quant", "float32", "--no-verify")
    assert code == MODEL_ERROR and "cannot be loaded as a SavedModel" in line
    assert not list(run_copy.glob("*.tflite"))


def test_a_model_whose_input_is_not_an_image(capsys, run_copy):
    import keras

    inputs = keras.Input(shape=(10,))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))
    shutil.rmtree(run_copy / "saved_model")
    model.export(str(run_copy / "saved_model"), verbose=False)
    code, line = run_cli(capsys, "convert", str(run_copy), "--quant", "float32", "--no-verify")
    assert code == MODEL_ERROR and "is not one image" in line and "(None, 10)" in line


def test_verify_dir_whose_classes_are_not_the_labels(capsys, run_copy, fashion_dir, tmp_path):
    shutil.copytree(fashion_dir / "test" / "Bag", tmp_path / "check" / "handbag")
    shutil.copytree(fashion_dir / "test" / "Coat", tmp_path / "check" / "Coat")
    code, line = run_cli(capsys, "convert", str(run_copy), "--quant", "float32", "--verify-dir",
                         str(tmp_path / "check"))
    assert code == DATA_ERROR and "handbag" in line and "not among the model's labels" in line


def test_too_few_calibration_images_asked_for(capsys, run_copy):
    code, line = run_cli(capsys, "convert", str(run_copy), "--calibration-images", "3")
    assert code == USAGE_ERROR and "--calibration-images 3 is too few" in line
    assert not list(run_copy.glob("*.tflite"))


def test_too_few_training_images_to_calibrate(capsys, run_copy):
    split = json.loads((run_copy / "split.json").read_text())
    split["train"] = split["train"][:4]
    (run_copy / "split.json").write_text(json.dumps(split))
    code, line = run_cli(capsys, "convert", str(run_copy), "--quant", "float32", "int8")
    assert code == DATA_ERROR and "only 4 readable training images" in line
    assert not list(run_copy.glob("*.tflite"))


def test_unwritable_output_folder(capsys, run_copy, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    code, line = run_cli(capsys, "convert", str(run_copy), "--quant", "float32", "--out-dir",
                         str(blocker / "models"))
    assert code == OUTPUT_ERROR and "cannot create" in line and "writable output location" in line
    assert blocker.read_text() == "not a folder"


def test_negative_max_drop(capsys, run_copy):
    code, line = run_cli(capsys, "convert", str(run_copy), "--max-drop", "-1")
    assert code == USAGE_ERROR and "--max-drop" in line
