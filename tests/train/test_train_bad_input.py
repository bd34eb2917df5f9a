"""`tfedge train` bad input: one line naming problem and fix, documented exit code, nothing written."""

import shutil
import urllib.error

import pytest
from synthetic_images import write_class_images

from tfedge.main import main

USAGE, DATA, MODEL, OUTPUT, DEPENDENCY = 2, 3, 4, 5, 8


def run_cli(capsys, *args):
    code = main(["train", *map(str, args)])
    err = capsys.readouterr().err.strip().splitlines()
    return code, err[-1] if err else ""


def run_cli_stdout(capsys, *args):
    code = main(["train", *map(str, args)])
    return code, capsys.readouterr().out


def nothing_written(out):
    return not out.exists() and not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")]


def test_single_class(capsys, tmp_path):
    write_class_images(tmp_path / "data" / "only", 4, 0)
    code, line = run_cli(capsys, tmp_path / "data", "--out", tmp_path / "r")
    assert code == DATA and "at least two class folders" in line and nothing_written(tmp_path / "r")


def test_class_with_fewer_than_two_images(capsys, tmp_path):
    write_class_images(tmp_path / "data" / "a", 5, 0)
    write_class_images(tmp_path / "data" / "b", 1, 1)
    code, line = run_cli(capsys, tmp_path / "data", "--out", tmp_path / "r")
    assert code == DATA and "'b' has 1 readable image" in line and "at least 2" in line
    assert nothing_written(tmp_path / "r")


def test_all_images_corrupt(capsys, tmp_path):
    for name in ("a", "b"):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(3):
            (tmp_path / "data" / name / f"{i}.jpg").write_bytes(b"\xff\xd8 truncated jpeg")
    code, line = run_cli(capsys, tmp_path / "data", "--out", tmp_path / "r")
    assert code == DATA and "none of the 6 images could be decoded" in line
    assert nothing_written(tmp_path / "r")


def test_missing_folder(capsys, tmp_path):
    code, line = run_cli(capsys, tmp_path / "nope", "--out", tmp_path / "r")
    assert code == DATA and "no such data folder" in line and nothing_written(tmp_path / "r")


def test_unwritable_output_folder(capsys, synthetic_dir, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    code, line = run_cli(capsys, synthetic_dir, "--out", blocker / "run")
    assert code == OUTPUT and "writable" in line
    code, line = run_cli(capsys, synthetic_dir, "--out", "/proc/tfedge-run")  # even root cannot write
    assert code == OUTPUT and "writable" in line


def test_output_holding_a_run_is_refused_unless_overwrite_or_resume(capsys, trained_run, fashion_dir,
                                                                   tmp_path):
    run_copy = tmp_path / "run"
    shutil.copytree(trained_run, run_copy)
    before = {p.name: p.stat().st_mtime_ns for p in run_copy.iterdir()}
    code, line = run_cli(capsys, fashion_dir / "train", "--out", run_copy)
    assert code == OUTPUT and "--overwrite" in line
    code, out = run_cli_stdout(capsys, fashion_dir / "train", "--out", run_copy, "--resume")
    assert code == 0 and "nothing to resume" in out
    assert {p.name: p.stat().st_mtime_ns for p in run_copy.iterdir()} == before


def test_weights_file_that_does_not_fit_the_backbone(capsys, synthetic_dir, tmp_path):
    from tfedge.train.backbones import Backbone
    from tfedge.train.model import build_backbone

    weights = tmp_path / "v2_035.weights.h5"
    build_backbone(Backbone.MOBILENET_V2_035, (32, 32)).save_weights(weights)
    for other in ("mobilenet_v3_small", "mobilenet_v2_050"):  # another family, another width
        code, line = run_cli(capsys, synthetic_dir, "--out", tmp_path / "r", "--backbone", other,
                             "--image-size", "32", "--weights", weights)
        assert code == MODEL and f"does not fit {other}" in line
    assert nothing_written(tmp_path / "r")
    code, line = run_cli(capsys, synthetic_dir, "--out", tmp_path / "r", "--backbone", "mobilenet_v2_035",
                         "--image-size", "32", "--weights", tmp_path / "missing.h5")
    assert code == MODEL and "no such file" in line


def test_imagenet_weights_offline_suggest_a_path_or_none(capsys, synthetic_dir, tmp_path, monkeypatch):
    from keras.src.utils import file_utils

    def fake_network_down(*_args, **_kwargs):  # a fake: this machine may or may not reach the web
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(file_utils, "urlretrieve", fake_network_down)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setattr(file_utils.config, "keras_home", lambda: str(tmp_path / "keras_home"), raising=False)
    code, line = run_cli(capsys, synthetic_dir, "--out", tmp_path / "r", "--backbone", "mobilenet_v2_035",
                         "--weights", "imagenet")
    assert code == DEPENDENCY and "--weights PATH" in line and "--weights none" in line
    assert nothing_written(tmp_path / "r")


def test_imagenet_weights_at_a_side_without_published_weights(capsys, synthetic_dir, tmp_path):
    code, line = run_cli(capsys, synthetic_dir, "--out", tmp_path / "r", "--backbone", "mobilenet_v2_035",
                         "--image-size", "100", "--weights", "imagenet")
    assert code == USAGE and "96, 128, 160, 192, 224" in line


@pytest.mark.parametrize("option", [["--epochs", "0"], ["--augment", "maybe"], ["--dropout", "1.5"]])
def test_out_of_range_settings(capsys, synthetic_dir, tmp_path, option):
    code, line = run_cli(capsys, synthetic_dir, "--out", tmp_path / "r", *option)
    assert code == USAGE and line.startswith("tfedge train: error:")


def test_gray_only_preset_refuses_gray_for_imagenet_backbone(capsys, synthetic_dir, tmp_path):
    code, line = run_cli(capsys, synthetic_dir, "--out", tmp_path / "r", "--backbone", "mobilenet_v2_035",
                         "--color", "gray")
    assert code == USAGE and "--color rgb" in line
