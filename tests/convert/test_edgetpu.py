"""Edge TPU: preflight, compiler log parsing, and the compiler plumbing (with a FAKE compiler)."""

import io
import stat
import sys
from pathlib import Path

import pytest

from tfedge.convert.convert_run import convert_run
from tfedge.convert.edgetpu_compiler import parse_compiler_report, preflight, prepare_for_edgetpu
from tfedge.edge.card import read_embedded_card
from tfedge.edge.tflite.metadata import read_standard_metadata
from tfedge.errors import ModelError

FAKE_COMPILER = Path(__file__).with_name("fake_edgetpu_compiler")

# the shape of real edgetpu_compiler output (Coral docs and issue threads), all operators mapped
REAL_ALL_MAPPED = """Edge TPU Compiler version 16.0.384591198
Started a compilation timeout timer of 180 seconds.

Model compiled successfully in 1354 ms.

Input model: model.tflite
Input size: 5.10MiB
Output model: model_edgetpu.tflite
Output size: 6.28MiB
Number of Edge TPU subgraphs: 1
Total number of operations: 10
Operation log: model_edgetpu.log

Operator                       Count      Status

CONV_2D                        5          Mapped to Edge TPU
MAX_POOL_2D                    2          Mapped to Edge TPU
QUANTIZE                       2          Mapped to Edge TPU
SOFTMAX                        1          Mapped to Edge TPU
"""

REAL_PARTIAL = """Number of Edge TPU subgraphs: 1
Total number of operations: 267
Operation log: detector_edgetpu.log

Model successfully compiled but not all operations are supported by the Edge TPU.
Number of operations that will run on Edge TPU: 261
Number of operations that will run on CPU: 6

Operator                       Count      Status

DEQUANTIZE                     2          Operation is working on an unsupported data type
DEPTHWISE_CONV_2D              80         Mapped to Edge TPU
LOGISTIC                       1          Operation is otherwise supported, but not mapped due to some \
unspecified limitation
CUSTOM                         1          Operation is working on an unsupported data type
"""


def test_parse_all_mapped_report():
    report = parse_compiler_report(REAL_ALL_MAPPED)
    assert report == {"on_edgetpu": 10, "total": 10, "cpu_fallback": []}


def test_parse_partial_report():
    report = parse_compiler_report(REAL_PARTIAL)
    assert report["on_edgetpu"] == 261 and report["total"] == 267
    assert [(f["operator"], f["count"]) for f in report["cpu_fallback"]] == [
        ("DEQUANTIZE", 2), ("LOGISTIC", 1), ("CUSTOM", 1)]


@pytest.fixture(scope="module")
def edgetpu_ready(trained_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("edgetpu")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", "/usr/bin:/bin")
        rows = convert_run(trained_run, ["edgetpu"], calibration_images=50, out_dir=out, verify=False,
                           log=lambda *_: None, stream=io.StringIO())
    return Path(rows[0]["path"])


@pytest.fixture
def fake_compiler_on_path(tmp_path, monkeypatch):
    """An `edgetpu_compiler` on PATH that runs the FAKE compiler with this Python."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "edgetpu_compiler"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_COMPILER}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return wrapper


def test_compiles_reports_fallbacks_and_re_embeds_the_card(edgetpu_ready, fake_compiler_on_path,
                                                           monkeypatch, tmp_path):
    ready = tmp_path / edgetpu_ready.name
    ready.write_bytes(edgetpu_ready.read_bytes())
    monkeypatch.setenv("FAKE_EDGETPU_CPU_OPS", "SOFTMAX")
    lines = []
    summary = prepare_for_edgetpu(ready, log=lines.append)
    assert summary["preflight"] == []
    total = summary["total"]
    assert summary["on_edgetpu"] == total - 1 and total > 5
    assert f"{total - 1} of {total} operators on the Edge TPU" in "\n".join(lines)
    assert [f["operator"] for f in summary["cpu_fallback"]] == ["SOFTMAX"]
    compiled = tmp_path / "model_edgetpu.tflite"
    assert summary["compiled"] == str(compiled)
    card = read_embedded_card(compiled.read_bytes())
    assert card == read_embedded_card(ready.read_bytes()) and card.quantization == "edgetpu"
    assert read_standard_metadata(compiled.read_bytes()) == read_standard_metadata(ready.read_bytes())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "model_edgetpu.tflite",
                                                          "model_edgetpu_ready.tflite"]


def test_a_failing_compiler_is_one_error_and_keeps_the_ready_file(edgetpu_ready, fake_compiler_on_path,
                                                                  monkeypatch, tmp_path):
    ready = tmp_path / edgetpu_ready.name
    ready.write_bytes(edgetpu_ready.read_bytes())
    monkeypatch.setenv("FAKE_EDGETPU_FAIL", "1")
    with pytest.raises(ModelError, match="Model not quantized") as raised:
        prepare_for_edgetpu(ready, log=lambda *_: None)
    assert "\n" not in str(raised.value)
    assert ready.exists() and not (tmp_path / "model_edgetpu.tflite").exists()


def test_preflight_says_what_fails_for_a_float_model(tflite_models):
    problems = preflight(tflite_models["float32"].read_bytes())
    text = "\n".join(problems)
    assert "input" in text and "float32: needs uint8 or int8" in text
    assert "dynamic sizes" in text and "not 8-bit quantized" in text


def test_preflight_flags_operators_the_edge_tpu_lacks(edgetpu_ready, monkeypatch):
    from tfedge.edge.tflite import edgetpu as edgetpu_check

    monkeypatch.setattr(edgetpu_check, "EDGETPU_OPERATORS", edgetpu_check.EDGETPU_OPERATORS - {"SOFTMAX"})
    problems = preflight(edgetpu_ready.read_bytes())
    assert problems == ["operator SOFTMAX (1x) is not supported by the Edge TPU: it and everything after "
                        "it would run on the CPU"]
