"""`tfedge convert` says when a choice makes a file MediaPipe Tasks cannot run, and the way out;
the compiled Edge TPU file gets the standard metadata the compiler drops."""

from __future__ import annotations

import pytest

from tfedge.convert.metadata_writer import copy_metadata
from tfedge.edge.card import read_embedded_card, strip_embedded
from tfedge.edge.tflite.metadata import read_standard_metadata

pytestmark = pytest.mark.slow


def test_gray_and_int8_io_choices_are_warned_with_the_way_out(trained_run, tmp_path):
    from tfedge.convert.convert_run import convert_run

    lines = []
    convert_run(trained_run, ["float32"], verify=False, out_dir=tmp_path / "gray", log=lines.append)
    warned = [line for line in lines if line.startswith("warning: MediaPipe Tasks cannot run")]
    assert len(warned) == 1 and "--rgb-input" in warned[0]
    lines.clear()
    convert_run(trained_run, ["int8"], calibration_images=50, io_type="int8", verify=False,
                out_dir=tmp_path / "int8", rgb_input=True, log=lines.append)
    warned = [line for line in lines if line.startswith("warning: MediaPipe Tasks cannot run")]
    assert len(warned) == 1 and "int8 input" in warned[0] and "int8 output" in warned[0]
    assert "--rgb-input" not in warned[0]


def test_copy_metadata_puts_back_what_the_compiler_drops(tflite_models):
    ready = tflite_models["int8"].read_bytes()
    dropped = strip_embedded(ready).replace(b"TFLITE_METADATA", b"NOT_METADATA___")
    assert read_standard_metadata(dropped) is None
    restored = copy_metadata(ready, dropped, read_embedded_card(ready))
    assert read_standard_metadata(restored) == read_standard_metadata(ready)
    assert read_embedded_card(restored) == read_embedded_card(ready)
