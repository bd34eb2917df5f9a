"""The device's commands, as a user types them in the emulated Pi, agree with x86.

Every device command must exist here: a build that lacks one fails, it is not skipped.
Labels must agree on every decided frame; near-ties (frames whose x86 top-1/top-2 margin the
runtimes' allowed difference could flip, tests/device/agreement.py) may go either way, so
accuracies may differ by at most the near-ties they hold.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from agreement import TOLERANCE, compare_predictions, near_tie_frames
from labelled_video import read_frame_labels
from recording import FOLDER_NAME, QUANTS, SOURCES, folder_accuracy, model_path, reference_file, source_path

from tfedge.edge.classify import Classifier
from tfedge.edge.self_test import SCORE_TOLERANCE
from tfedge.main import COMMANDS

# Scores are printed rounded to 4 digits; int8 may differ by a few output steps (1/256 each),
# see test_device_parity (the top-1 score moves no more than any one score); the same tolerance
# is what a model's self-test allows (tfedge.edge.self_test, one place). Video frames decode
# a few grey levels apart: only labels are compared.
DEVICE_COMMANDS = ["run", "verify", "inspect", "bench", "service"]


def tfedge(*args):
    return subprocess.run([sys.executable, "-m", "tfedge", *args], capture_output=True, text=True,
                          timeout=900)


def x86_scores(fixtures, quant, source) -> np.ndarray:
    """x86's raw output tensor per frame of `source` (the runtime kernels `tfedge run` uses)."""
    return np.load(reference_file(fixtures, quant, source, "raw"))


def allowed_accuracy_difference(fixtures, quant) -> float:
    """How far the folder's accuracy may move: one image per near-tie among its frames."""
    scores = x86_scores(fixtures, quant, "folder")
    return len(near_tie_frames(scores, TOLERANCE[quant])) / len(scores) + 1e-9


def needs(command):
    assert command in COMMANDS, f"`tfedge {command}` is missing from this build"


def test_the_tfedge_command_is_installed_with_every_device_command():
    script = Path(sys.executable).with_name("tfedge")  # what pip installed, the command a user types
    assert script.is_file(), f"no `tfedge` command beside {sys.executable}"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    listed = re.findall(r"^    ([a-z-]+) ", result.stdout, re.MULTILINE)  # the COMMAND list in --help
    missing = [command for command in DEVICE_COMMANDS if command not in COMMANDS or command not in listed]
    assert not missing, f"`tfedge` lacks {missing}"


@pytest.mark.parametrize("quant", QUANTS)
@pytest.mark.parametrize("source", SOURCES)
def test_run_headless_predicts_what_x86_predicted(quant, source, fixtures, backend, results):
    result = tfedge("run", str(model_path(fixtures, quant)), "--source", str(source_path(fixtures, source)),
                    "--headless", "--backend", backend)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    frames, summary = lines[:-1], lines[-1]["summary"]
    expected = [json.loads(line) for line in
                reference_file(fixtures, quant, source, "run").read_text().splitlines()]
    assert summary["frames"] == len(frames) == len(expected) > 0
    agreement = compare_predictions([f["label"] for f in frames], [e["label"] for e in expected],
                                    x86_scores(fixtures, quant, source), TOLERANCE[quant])
    results.record(f"run_headless/{quant}/{source}", agreement.report())
    assert agreement.ok, f"labels differ from x86: {agreement.report()}"
    if source == "folder":
        assert max(abs(f["score"] - e["score"]) for f, e in zip(frames, expected)) <= SCORE_TOLERANCE[quant]
    else:
        truth = read_frame_labels(source_path(fixtures, source))
        device = sum(f["label"] == t for f, t in zip(frames, truth))
        x86 = sum(e["label"] == t for e, t in zip(expected, truth))
        assert abs(device - x86) <= len(agreement.differing_near_ties)


@pytest.mark.parametrize("quant", QUANTS)
def test_folder_accuracy_equals_x86(quant, fixtures, backend, x86_facts, results):
    classifier = Classifier(model_path(fixtures, quant), backend=backend)
    accuracy = folder_accuracy(classifier, fixtures / FOLDER_NAME)
    results.record(f"{quant}_folder_accuracy", accuracy)
    assert abs(accuracy - x86_facts["accuracy"][quant]) <= allowed_accuracy_difference(fixtures, quant)


@pytest.mark.parametrize("quant", QUANTS)
def test_inspect_describes_the_model(quant, fixtures):
    needs("inspect")
    result = tfedge("inspect", str(model_path(fixtures, quant)))
    assert result.returncode == 0, result.stderr
    labels = Classifier(model_path(fixtures, quant)).labels
    assert all(label in result.stdout for label in labels)


def shows_accuracy(text, accuracy):
    """Whether `text` prints `accuracy` as a percentage or a fraction."""
    forms = {f"{accuracy * 100:.1f}", f"{accuracy * 100:.2f}", f"{accuracy:.3f}", f"{accuracy:.4f}"}
    return any(form in text for form in forms)


@pytest.mark.parametrize("quant", QUANTS)
def test_verify_reports_the_x86_accuracy(quant, fixtures, x86_facts):
    """What `tfedge verify` prints is the device's own accuracy, which is x86's up to near-ties."""
    needs("verify")
    result = tfedge("verify", str(model_path(fixtures, quant)), str(fixtures / FOLDER_NAME))
    assert result.returncode == 0, result.stderr
    accuracy = folder_accuracy(Classifier(model_path(fixtures, quant)), fixtures / FOLDER_NAME)
    assert shows_accuracy(result.stdout, accuracy), result.stdout
    assert abs(accuracy - x86_facts["accuracy"][quant]) <= allowed_accuracy_difference(fixtures, quant)


@pytest.mark.parametrize("quant", QUANTS)
def test_the_model_s_own_self_test_passes_on_the_device(quant, fixtures, backend):
    """The scores convert stored on x86 are what this device computes, within SCORE_TOLERANCE."""
    needs("verify")
    result = tfedge("verify", "--self-test", str(model_path(fixtures, quant)), "--backend", backend, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["self_test"] == "passed", report
    assert report["max_difference"] <= report["tolerance"] == round(SCORE_TOLERANCE[quant], 6)
