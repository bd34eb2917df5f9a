"""Every quantization mode from one shared calibration, one table, atomic writes, io types."""

import io
import os

import numpy as np
import pytest

from tfedge.convert.convert_run import ALL_MODES, convert_run
from tfedge.edge.card import read_embedded_card
from tfedge.edge.classify import Classifier
from tfedge.edge.tflite.flatbuffer import parse_tflite


@pytest.fixture(scope="module")
def all_modes(trained_run, tmp_path_factory, monkeypatch_module):
    monkeypatch_module.setenv("PATH", "/usr/bin:/bin")  # no edgetpu_compiler here
    out = tmp_path_factory.mktemp("all_modes")
    lines, progress = [], io.StringIO()
    # the accuracy gate has its own tests; on 120 validation images one image is 0.83 points
    rows = convert_run(trained_run, ALL_MODES, calibration_images=100, out_dir=out, log=lines.append,
                       stream=progress, max_drop=None)
    return {"rows": {row["variant"]: row for row in rows}, "lines": lines,
            "progress": progress.getvalue(), "out": out}


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_every_mode_is_written_with_its_card(all_modes, trained_run):
    rows = all_modes["rows"]
    assert list(rows) == ["float32", "float16", "dynamic", "int8", "edgetpu"]
    for mode, row in rows.items():
        card = read_embedded_card(open(row["path"], "rb").read())
        assert card.quantization == mode
        assert card.provenance["run"] == trained_run.name
        assert card.provenance["source_run"] == str(trained_run.resolve())
        assert card.provenance.get("calibration_images") == (100 if mode in ("int8", "edgetpu") else None)
        assert card.provenance["tfedge_version"] and len(card.provenance["source_model_sha256"]) == 16
    assert rows["float16"]["bytes"] < rows["float32"]["bytes"]
    assert rows["dynamic"]["bytes"] < rows["float16"]["bytes"]
    assert rows["int8"]["bytes"] < rows["float16"]["bytes"]


def test_one_calibration_is_shared_and_shown_with_a_progress_bar(all_modes):
    progress = all_modes["progress"]
    assert progress.count("reading calibration images") == 1
    assert "calibrating int8" in progress and "calibrating edgetpu" in progress
    assert "100/100" in progress


def test_one_table_with_accuracy_against_keras(all_modes):
    lines = all_modes["lines"]
    header = next(i for i, line in enumerate(lines) if line.startswith("variant"))
    table = lines[header].splitlines()
    assert "vs keras" in table[0] and "largest drop" in table[0] and "ms/image" in table[0]
    assert [line.split()[0] for line in table[1:]] == ALL_MODES
    rows = all_modes["rows"]
    # float32 sees the very same pixels as Keras: the same predictions, within float rounding
    assert abs(rows["float32"]["difference_pp"]) <= 100 / rows["float32"]["images"] + 1e-9
    for row in rows.values():
        assert 0.0 <= row["accuracy"] <= 1.0 and row["mean_inference_ms"] > 0
        assert row["largest_drop_class"] in read_embedded_card(open(row["path"], "rb").read()).labels


def test_full_integer_modes_take_camera_bytes(all_modes):
    for mode in ("int8", "edgetpu"):
        classifier = Classifier(all_modes["rows"][mode]["path"])
        assert classifier.input_detail["dtype"] == np.uint8
        scale, zero_point = classifier.input_detail["quantization"]
        assert abs(scale - 1.0) < 1e-2 and zero_point == 0


def test_edgetpu_mode_is_static_batch_one_and_passes_the_preflight(all_modes):
    row = all_modes["rows"]["edgetpu"]
    assert os.path.basename(row["path"]) == "model_edgetpu_ready.tflite"
    graph = parse_tflite(open(row["path"], "rb").read()).main
    assert graph.tensors[graph.inputs[0]].shape == [1, 28, 28, 1]
    assert all(t.static_shape for t in graph.tensors)
    assert row["edgetpu"] == {"preflight": [], "compiled": None}
    assert any("edgetpu_compiler is not on PATH" in line and "x86_64" in line for line in all_modes["lines"])


def test_int8_io_type(trained_run, tmp_path):
    rows = convert_run(trained_run, ["int8"], calibration_images=50, io_type="int8", out_dir=tmp_path,
                       log=lambda *_: None, stream=io.StringIO(), max_drop=None)
    classifier = Classifier(rows[0]["path"])
    assert classifier.input_detail["dtype"] == np.int8 and classifier.output_detail["dtype"] == np.int8
    assert classifier.input_detail["quantization"][1] == -128
    assert read_embedded_card(open(rows[0]["path"], "rb").read()).provenance["io_type"] == "int8"
    assert rows[0]["accuracy"] > 0.5  # the int8 input path feeds the pixels correctly


def test_a_failed_write_leaves_no_partial_file(trained_run, tmp_path, monkeypatch):
    import tfedge.fileio

    def full_disk(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tfedge.fileio.os, "replace", full_disk)
    with pytest.raises(OSError):
        convert_run(trained_run, ["float32"], out_dir=tmp_path, verify=False, log=lambda *_: None)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_conversion_keeps_the_previous_file(trained_run, tmp_path, monkeypatch):
    from tfedge.convert import quantize
    from tfedge.errors import ModelError

    previous = tmp_path / "model_float32.tflite"
    previous.write_bytes(b"the user's earlier model")

    def broken(tf, converter, calibration, io_type):
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]  # float ops: fails

    monkeypatch.setitem(quantize.CONFIGURE, quantize.Quantization.FLOAT32, broken)
    with pytest.raises(ModelError, match="converter failed"):
        convert_run(trained_run, ["float32"], out_dir=tmp_path, verify=False, log=lambda *_: None)
    assert previous.read_bytes() == b"the user's earlier model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model_float32.tflite"]


def test_accuracy_error_names_remedies():
    from tfedge.convert.convert_run import _check_drop
    from tfedge.errors import AccuracyError

    rows = [{"variant": "float32", "difference_pp": -3.0},
            {"variant": "int8", "difference_pp": -1.5, "largest_drop_class": "Shirt"}]
    with pytest.raises(AccuracyError) as raised:
        _check_drop(rows, 1.0, 500)
    message = str(raised.value)
    assert raised.value.exit_code == 7 and "\n" not in message
    assert "1.50" in message and "Shirt" in message and "500 calibration images" in message
    assert "--calibration-images" in message and "--max-drop" in message
    _check_drop(rows, 2.0, 500)  # within the limit: no error; float32 is never judged


def test_convert_exits_7_when_int8_drops_more_than_allowed(capsys, trained_run, tmp_path, monkeypatch):
    from tfedge.convert import convert_run
    from tfedge.edge.evaluation import Evaluation
    from tfedge.main import main

    real_reference = convert_run.keras_reference

    def flawless_reference(keras_model, items, card):  # a Keras model right on every image
        measured = real_reference(keras_model, items, card)
        return Evaluation(measured.labels, measured.true, measured.true.copy(), [], [])

    monkeypatch.setattr(convert_run, "keras_reference", flawless_reference)
    code = main(["convert", str(trained_run), "--quant", "float32", "int8", "--calibration-images", "50",
                 "--out-dir", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 7
    error = captured.err.strip().splitlines()[-1]
    assert error.startswith("tfedge convert: error: int8 lost") and "--max-drop 1" in error
    assert "tried: 50 calibration images" in error
    assert (tmp_path / "model_int8.tflite").exists()  # written: the user can still inspect it
    assert main(["convert", str(trained_run), "--quant", "int8", "--calibration-images", "50",
                 "--out-dir", str(tmp_path), "--max-drop", "100"]) == 0
