"""Fuzz `tfedge inspect` with truncated, mutated and hostile models: never a crash, one line each.

Deterministic (seeded). The pure-Python parser meets every case; a handful that still parse go
on to the interpreter, which loads them in a child process (it may crash there, never here).
"""

import random
import struct
import zipfile

import pytest

from tfedge.edge.card import read_embedded_card, strip_embedded
from tfedge.edge.tflite.flatbuffer import parse_tflite
from tfedge.edge.tflite.inspect import format_inspection, inspect_model
from tfedge.errors import ModelError
from tfedge.main import main

SEED = 20240604
CASES = 420
INTERPRETER_CASES = 6


def _mutations(model: bytes, rng: random.Random):
    flatbuffer_size = len(strip_embedded(model))
    for index in range(CASES):
        data = bytearray(model)
        kind = index % 6
        if kind == 0:  # truncated anywhere
            data = data[:rng.randrange(len(data))]
        elif kind == 1:  # a few random bytes anywhere
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif kind == 2:  # a few bytes inside the flatbuffer's first kilobyte (vtables, offsets)
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(min(1024, flatbuffer_size))] = rng.randrange(256)
        elif kind == 3:  # a 32-bit word made huge, negative or zero (offsets, lengths)
            at = rng.randrange(0, flatbuffer_size - 4) & ~3
            data[at:at + 4] = struct.pack("<I", rng.choice([0, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000,
                                                           len(data), rng.randrange(1 << 32)]))
        elif kind == 4:  # the appended card archive damaged
            start = flatbuffer_size + rng.randrange(len(data) - flatbuffer_size)
            for _ in range(rng.randint(1, 6)):
                data[min(len(data) - 1, start + rng.randrange(64))] = rng.randrange(256)
        else:  # a chunk removed or duplicated
            at, size = rng.randrange(len(data)), rng.randint(1, 64)
            removed = data[:at] + data[at + size:]
            data = removed if rng.random() < 0.5 else data[:at] + data[at:at + size] * 3 + data[at:]
        yield bytes(data)


def _hostile_cards(model: bytes):
    flatbuffer = strip_embedded(model)
    for card_json in ('{"labels": "abc", "input_size": [28]}', '{"labels": [], "input_size": [0, -1]}',
                      '{"labels": ["a"], "input_size": [28, 28], "mean": "x", "color_order": 7}',
                      "[" * 100000, '{"labels": ["a"], "input_size": [1e999, 2]}'):
        yield _with_archive(flatbuffer, {"tfedge_card.json": card_json})
    yield _with_archive(flatbuffer, {"tfedge_card.json": "0" * 3_000_000})  # refused, not inflated
    yield flatbuffer + b"PK\x05\x06" + b"\xff" * 18  # an end-of-archive record pointing nowhere


def _with_archive(flatbuffer: bytes, files: dict) -> bytes:
    import io

    buffer = io.BytesIO(flatbuffer)
    buffer.seek(0, io.SEEK_END)
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def fuzz_cases(tflite_models):
    rng = random.Random(SEED)
    model = tflite_models["int8"].read_bytes()
    assert read_embedded_card(model) is not None
    return list(_mutations(model, rng)) + list(_hostile_cards(model))


def test_every_damaged_model_gives_a_report_or_one_line_error(fuzz_cases, tmp_path):
    path = tmp_path / "fuzzed.tflite"
    outcomes = {"report": 0, "error": 0}
    parsed = []
    for data in fuzz_cases:
        path.write_bytes(data)
        try:
            report = inspect_model(path, load_check=False)
        except ModelError as error:
            assert "\n" not in str(error) and str(error)
            outcomes["error"] += 1
            continue
        format_inspection(report)
        outcomes["report"] += 1
        parsed.append(data)
    assert outcomes["report"] + outcomes["error"] == len(fuzz_cases) >= 400
    assert outcomes["report"] > 0 and outcomes["error"] > 0  # both paths were exercised
    # a few that parse go on to the real interpreter, in its child process
    for index, data in enumerate(parsed[:INTERPRETER_CASES]):
        path = tmp_path / f"parsed_{index}.tflite"
        path.write_bytes(data)
        report = inspect_model(path, load_check=True, timeout_s=60)
        verdict = report["interpreter"]
        assert verdict["ok"] or ("\n" not in verdict["error"] and verdict["error"]), verdict
        # the verdict is the report's last line, whole: no traceback or second line after it
        last = format_inspection(report).splitlines()[-1]
        assert last == (f"interpreter: loads ({verdict['backend']})" if verdict["ok"]
                        else f"interpreter: does not load: {verdict['error']}"), last


def test_the_cli_never_crashes_on_fuzzed_files(capsys, fuzz_cases, tmp_path):
    path = tmp_path / "fuzzed.tflite"
    for data in fuzz_cases[::20]:
        path.write_bytes(data)
        code = main(["inspect", str(path), "--no-load"])
        err = capsys.readouterr().err
        assert code in (0, 4), err
        assert code == 0 or err.count("\n") == 1


def test_hostile_cards_are_reported_not_trusted(fuzz_cases, tmp_path):
    path = tmp_path / "hostile.tflite"
    for data in fuzz_cases[CASES:]:
        path.write_bytes(data)
        report = inspect_model(path, load_check=False)
        assert report["card"] is None or report["card_source"] != "embedded"


@pytest.fixture(scope="module")
def hostile_metadata(tflite_models):
    from hostile_metadata import hostile_metadata_files  # tests/hostile_metadata.py

    return hostile_metadata_files(tflite_models["int8"].read_bytes())


def test_damaged_and_hostile_metadata_gives_a_report_or_one_line_error(hostile_metadata, tmp_path):
    """inspect reports it; the device path (run, verify, bench) builds a card or says one line."""
    import warnings

    from tfedge.edge.model_file import card_from_interpreter, read_model_file
    from tfedge.edge.tflite.inspect import tensor_detail

    assert len(hostile_metadata) >= 500
    path = tmp_path / "hostile.tflite"
    outcomes = {"card": 0, "error": 0}
    for data in hostile_metadata:
        path.write_bytes(data)
        report = inspect_model(path, load_check=False)  # the flatbuffer itself is intact
        format_inspection(report)
        try:
            model = read_model_file(path)
            main_graph = parse_tflite(data).main
            tensors = main_graph.tensors
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                card_from_interpreter(model, tensor_detail(tensors[main_graph.inputs[0]]),
                                      tensor_detail(tensors[main_graph.outputs[0]]))
            outcomes["card"] += 1
        except ModelError as error:
            assert "\n" not in str(error) and str(error)
            outcomes["error"] += 1
    assert outcomes["card"] > 0 and outcomes["error"] > 0


def test_the_cli_never_crashes_on_hostile_metadata(capsys, hostile_metadata, tmp_path):
    path = tmp_path / "hostile.tflite"
    for data in hostile_metadata[::25] + hostile_metadata[-8:]:
        path.write_bytes(data)
        code = main(["inspect", str(path), "--no-load"])
        err = capsys.readouterr().err
        assert code == 0, err
