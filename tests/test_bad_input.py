"""Each bad input: one line on stderr naming the problem, a documented exit code, no traceback."""

import shutil

import cv2
import numpy as np
import pytest

from tfedge.main import main

DATA_ERROR, MODEL_ERROR, OUTPUT_ERROR, SOURCE_ERROR, USAGE_ERROR = 3, 4, 5, 6, 2


def run_cli(capsys, *args):
    code = main(list(args))
    err = capsys.readouterr().err.strip().splitlines()
    return code, err[-1] if err else ""


def make_images(folder, count=3, value=100):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        cv2.imwrite(str(folder / f"{i}.png"), np.full((8, 8), value + i, np.uint8))


def test_missing_data_folder(capsys, tmp_path):
    code, line = run_cli(capsys, "train", str(tmp_path / "nope"), "--out", str(tmp_path / "r"))
    assert code == DATA_ERROR and "no such data folder" in line
    assert not (tmp_path / "r").exists()


def test_empty_data_folder(capsys, tmp_path):
    (tmp_path / "data").mkdir()
    code, line = run_cli(capsys, "train", str(tmp_path / "data"), "--out", str(tmp_path / "r"))
    assert code == DATA_ERROR and "no class folders" in line


def test_class_folder_without_images(capsys, tmp_path):
    make_images(tmp_path / "data" / "a")
    (tmp_path / "data" / "b").mkdir()
    (tmp_path / "data" / "b" / "notes.txt").write_text("hello")
    code, line = run_cli(capsys, "train", str(tmp_path / "data"), "--out", str(tmp_path / "r"))
    assert code == DATA_ERROR and "'b' has no images" in line


def test_fewer_than_two_classes(capsys, tmp_path):
    make_images(tmp_path / "data" / "only")
    code, line = run_cli(capsys, "train", str(tmp_path / "data"), "--out", str(tmp_path / "r"))
    assert code == DATA_ERROR and "at least two class folders" in line


def test_all_images_of_a_class_unreadable(capsys, tmp_path):
    make_images(tmp_path / "data" / "a")
    (tmp_path / "data" / "b").mkdir()
    for i in range(3):
        (tmp_path / "data" / "b" / f"{i}.jpg").write_bytes(b"not really a jpeg")
    code, line = run_cli(capsys, "train", str(tmp_path / "data"), "--out", str(tmp_path / "r"),
                         "--epochs", "1")
    assert code == DATA_ERROR and "unreadable" in line
    assert not (tmp_path / "r").exists()


def test_output_folder_holding_a_run_is_refused_then_overwritten(capsys, trained_run, fashion_dir,
                                                                 tmp_path):
    run_copy = tmp_path / "run"
    shutil.copytree(trained_run, run_copy)
    before = sorted(p.name for p in run_copy.iterdir())
    code, line = run_cli(capsys, "train", str(fashion_dir / "train"), "--out", str(run_copy))
    assert code == OUTPUT_ERROR and "--overwrite" in line
    assert sorted(p.name for p in run_copy.iterdir()) == before


def test_model_path_that_does_not_exist(capsys, tmp_path):
    code, line = run_cli(capsys, "run", str(tmp_path / "m.tflite"), "--headless")
    assert code == MODEL_ERROR and "no such model file" in line
    code, line = run_cli(capsys, "convert", str(tmp_path / "run"))
    assert code == MODEL_ERROR and "no such run folder" in line


@pytest.mark.parametrize("content", [b"", b"hello world, not a model", b"\0\0\0\0TFL3" + b"\xff" * 64])
def test_file_that_is_not_a_valid_tflite(capsys, tmp_path, content):
    model = tmp_path / "bad.tflite"
    model.write_bytes(content)
    code, line = run_cli(capsys, "run", str(model), "--headless")
    assert code == MODEL_ERROR and ("bad.tflite" in line or "cannot load" in line)
    assert "Traceback" not in line


def test_video_that_does_not_open(capsys, tflite_models, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\0" * 1000)
    code, line = run_cli(capsys, "run", str(tflite_models["int8"]), "--source", str(broken),
                         "--headless")
    assert code == SOURCE_ERROR and "cannot open video" in line
    code, line = run_cli(capsys, "run", str(tflite_models["int8"]), "--source",
                         str(tmp_path / "missing.mp4"), "--headless")
    assert code == SOURCE_ERROR and "no such video" in line


def test_absurd_thread_count(capsys, tflite_models):
    code, line = run_cli(capsys, "run", str(tflite_models["int8"]), "--threads", "0", "--headless")
    assert code == USAGE_ERROR and "--threads" in line


def test_debug_shows_the_traceback(tmp_path):
    from tfedge.errors import ModelError

    with pytest.raises(ModelError):
        main(["run", str(tmp_path / "m.tflite"), "--debug"])
