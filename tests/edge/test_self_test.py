"""A model's self-test: written by convert, run on the device by `tfedge verify --self-test`."""

import json

import numpy as np
import pytest

from tfedge.edge.card import embed_card, read_embedded_card
from tfedge.edge.classify import Classifier
from tfedge.edge.self_test import SCORE_TOLERANCE, run_self_test, self_test_frames, tolerance_for
from tfedge.main import main


def test_the_generator_is_the_documented_one_and_deterministic():
    import hashlib

    frames = self_test_frames(7, 2, (3, 5))
    assert frames.shape == (2, 3, 5, 3) and frames.dtype == np.uint8
    expected = hashlib.shake_256(b"tfedge-self-test:7:1").digest(45)
    assert frames[1].tobytes() == expected
    assert (self_test_frames(7, 2, (3, 5)) == frames).all()
    assert not (self_test_frames(8, 2, (3, 5)) == frames).all()


def test_tolerances_are_the_ones_measured_under_emulation():
    assert tolerance_for("int8") == SCORE_TOLERANCE["int8"] == 6 / 256 + 1e-4
    assert tolerance_for("float32") == SCORE_TOLERANCE["float32"]
    assert tolerance_for(None) == SCORE_TOLERANCE["int8"]


@pytest.mark.parametrize("quant", ["float32", "int8"])
def test_convert_writes_a_self_test_that_passes_here(quant, tflite_models, capsys):
    card = read_embedded_card(tflite_models[quant].read_bytes())
    assert card.self_test["count"] >= 1 and len(card.self_test["scores"][0]) == len(card.labels)
    result = run_self_test(Classifier(tflite_models[quant]))
    assert result.passed and result.max_difference <= result.tolerance
    assert main(["verify", "--self-test", str(tflite_models[quant]), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["self_test"] == "passed" and report["inputs"] == card.self_test["count"]
    assert main(["inspect", "--no-load", str(tflite_models[quant])]) == 0
    assert "self_test: 4 inputs" in capsys.readouterr().out


def altered(path, tmp_path, change):
    content = path.read_bytes()
    card = read_embedded_card(content)
    entry = json.loads(json.dumps(card.self_test))
    change(entry)
    target = tmp_path / "altered.tflite"
    target.write_bytes(embed_card(content, card.replace(self_test=entry)))
    return target


def test_altered_expected_scores_fail_with_exit_code_7(tflite_models, tmp_path, capsys):
    def move_top1(entry):  # the desktop "said" another class with the same confidence
        scores = entry["scores"][0]
        best = int(np.argmax(scores))
        scores[best], scores[(best + 1) % len(scores)] = scores[(best + 1) % len(scores)], scores[best]

    target = altered(tflite_models["int8"], tmp_path, move_top1)
    assert main(["verify", "--self-test", str(target)]) == 7
    err = capsys.readouterr().err.strip()
    assert "self-test failed: input 0" in err and len(err.splitlines()) == 1


def test_a_malformed_self_test_is_a_model_error(tflite_models, tmp_path, capsys):
    target = altered(tflite_models["int8"], tmp_path, lambda entry: entry["scores"].pop())
    assert main(["verify", "--self-test", str(target)]) == 4
    assert "self-test is malformed" in capsys.readouterr().err
    wrong_labels = altered(tflite_models["int8"], tmp_path, lambda e: [row.pop() for row in e["scores"]])
    assert main(["verify", "--self-test", str(wrong_labels)]) == 4
    assert "does not fit this model" in capsys.readouterr().err


def test_a_card_without_self_test_still_loads_and_says_so(tflite_models, tmp_path, capsys):
    content = tflite_models["float32"].read_bytes()
    target = tmp_path / "older.tflite"
    target.write_bytes(embed_card(content, read_embedded_card(content).replace(self_test=None)))
    assert main(["verify", "--self-test", str(target)]) == 0
    assert "carries no self-test" in capsys.readouterr().err
    assert main(["verify", "--self-test", str(tmp_path / "missing.tflite")]) == 4
    assert main(["verify", str(target)]) == 2  # no DATA_DIR and no --self-test


@pytest.mark.parametrize("entry", [
    {"seed": 0, "count": 10**9, "generator": "shake_256 v1", "scores": [[0.5]]},
    {"seed": 0, "count": 2, "generator": "shake_256 v1", "scores": 7},
    {"seed": "x", "count": 1, "scores": [[1.0]]}])
def test_a_hostile_self_test_is_refused_before_any_input_is_made(entry, tflite_models, tmp_path, capsys):
    target = altered(tflite_models["int8"], tmp_path, lambda e: (e.clear(), e.update(entry)))
    assert main(["verify", "--self-test", str(target)]) == 4
    assert "self-test" in capsys.readouterr().err
    assert main(["inspect", "--no-load", str(target)]) == 0
