"""`tfedge inspect`: card, tensors, operators, sizes, Edge TPU readiness; parser vs interpreter."""

import json
import os
import signal
import stat

import pytest

from tfedge.edge.card import read_embedded_card
from tfedge.edge.interpreter import make_interpreter
from tfedge.edge.tflite.flatbuffer import parse_tflite
from tfedge.edge.tflite.load_check import load_in_subprocess
from tfedge.main import main


def test_inspect_prints_card_tensors_operators_and_readiness(capsys, tflite_models):
    assert main(["inspect", str(tflite_models["int8"])]) == 0
    out = capsys.readouterr().out
    card = read_embedded_card(tflite_models["int8"].read_bytes())
    assert "card: embedded" in out and str(card.labels) in out
    assert "provenance.source_model_sha256" in out and "quantization: int8" in out
    assert "uint8 [1, 28, 28, 1]" in out and "zero point 0" in out
    assert "CONV_2D" in out and "FULLY_CONNECTED" in out
    assert "Edge TPU: not ready" in out and "dynamic sizes" in out  # int8 keeps a dynamic batch
    assert "interpreter: loads" in out


def test_inspect_float32_explains_why_it_is_not_edgetpu_ready(capsys, tflite_models):
    assert main(["inspect", str(tflite_models["float32"]), "--json", "--no-load"]) == 0
    report = json.loads(capsys.readouterr().out)
    problems = " ".join(report["edgetpu"]["problems"])
    assert "float32: needs uint8 or int8" in problems and "not 8-bit quantized" in problems
    assert report["inputs"][0]["dtype"] == "float32" and "interpreter" not in report
    assert report["file_bytes"] > report["flatbuffer_bytes"] > report["weights_bytes"] > 0


def test_parser_agrees_with_the_interpreter(tflite_models):
    for path in tflite_models.values():
        content = path.read_bytes()
        parsed = parse_tflite(content)
        interpreter, _ = make_interpreter(content)
        details = interpreter.get_tensor_details()  # some runtimes append tensors of their own
        assert len(details) >= len(parsed.main.tensors)
        by_index = {detail["index"]: detail["name"] for detail in details}
        assert all(by_index.get(i) == tensor.name for i, tensor in enumerate(parsed.main.tensors)
                   if i in by_index)
        for index, detail in zip(parsed.main.inputs + parsed.main.outputs,
                                 interpreter.get_input_details() + interpreter.get_output_details()):
            tensor = parsed.main.tensors[index]
            assert tensor.name == detail["name"] and tensor.shape == list(detail["shape"])
            assert tensor.dtype == detail["dtype"].__name__
            scale, zero_point = detail["quantization"]
            assert (list(tensor.scale[:1]) or [0.0]) == [scale]
            assert (list(tensor.zero_point[:1]) or [0]) == [zero_point]
        ops = sorted(op["op_name"] for op in interpreter._get_ops_details() if op["op_name"] != "DELEGATE")
        assert sorted(op.name for op in parsed.main.operators) == ops


def test_not_a_model_is_one_line_exit_4(capsys, tmp_path):
    bad = tmp_path / "notes.tflite"
    bad.write_bytes(b"hello")
    assert main(["inspect", str(bad)]) == 4
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize("kind", ["folder", "fifo"])
@pytest.mark.parametrize("command", ["inspect", "run", "bench"])
def test_a_path_that_is_no_model_file_is_one_line_exit_4(capsys, tmp_path, kind, command):
    """inspect and the interpreter commands share one check (a FIFO would block the read)."""
    path = tmp_path / "m.tflite"
    path.mkdir() if kind == "folder" else os.mkfifo(path)
    assert main([command, str(path)]) == 4
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and ("is a folder" if kind == "folder" else "not a regular file") in error


def _fake_python(tmp_path, body):
    """A stand-in for the Python that loads the model: a fake that crashes or hangs on purpose."""
    script = tmp_path / "fake_python"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_an_interpreter_that_crashes_is_reported_not_fatal(tflite_models, tmp_path, monkeypatch):
    import tfedge.edge.tflite.load_check as load_check

    monkeypatch.setattr(load_check.sys, "executable", _fake_python(tmp_path, "kill -SEGV $$"))
    result = load_in_subprocess(str(tflite_models["int8"]))
    assert result == {"ok": False, "error": f"the interpreter crashed loading this model "
                                            f"({signal.SIGSEGV.name})"}


def test_an_interpreter_that_hangs_is_timed_out(tflite_models, tmp_path, monkeypatch):
    import tfedge.edge.tflite.load_check as load_check

    monkeypatch.setattr(load_check.sys, "executable", _fake_python(tmp_path, "exec sleep 30"))
    result = load_in_subprocess(str(tflite_models["int8"]), timeout_s=0.5)
    assert result["ok"] is False and "did not finish loading" in result["error"]
