"""Shared fixtures: one small Fashion-MNIST folder, one tiny trained run, its .tflite models.

The models are made once per session (1 epoch, 28x28, a few hundred images). Where TensorFlow
is absent (a device), set TFEDGE_TEST_MODELS to a folder holding model_float32.tflite and
model_int8.tflite converted elsewhere; without either, the tests that need models are skipped.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
HAVE_TENSORFLOW = importlib.util.find_spec("tensorflow") is not None


# Tests that use these fixtures need that component installed (marked real_component for them).
FIXTURE_COMPONENTS = {"fashion_dir": "dataset-fashion-mnist", "broker": "mosquitto"}


def pytest_configure(config):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def pytest_collection_modifyitems(items):
    for item in items:
        for fixture, component in FIXTURE_COMPONENTS.items():
            if fixture in item.fixturenames:
                item.add_marker(pytest.mark.real_component(component))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI, a skipped test that needs a real component is an error: CI installs them all.

    Elsewhere (a laptop, the emulated Pi) such a test skips, saying what to install.
    """
    outcome = yield
    report = outcome.get_result()
    components = [name for mark in item.iter_markers("real_component") for name in mark.args]
    under_ci = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
    if not (under_ci and components and report.skipped) or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    reason = reason.removeprefix("Skipped: ")
    report.outcome = "failed"
    report.longrepr = (f"CI must run this test, which needs {', '.join(sorted(set(components)))}, "
                       f"but it was skipped: {reason}")


@pytest.fixture(scope="session")
def fashion_dir(tmp_path_factory) -> Path:
    """OUT/train and OUT/test with 60 and 10 real Fashion-MNIST images per class."""
    if not FASHION_DIR.exists():
        pytest.skip("Debian's dataset-fashion-mnist is not installed (apt-get install it)")
    from tfedge.train.fashion_mnist import export

    out = tmp_path_factory.mktemp("data") / "fashion"
    export(out, limit_per_class=60)
    # the test split keeps 10 per class, for fast verification
    for class_dir in (out / "test").iterdir():
        for extra in sorted(class_dir.iterdir())[10:]:
            extra.unlink()
    return out


@pytest.fixture(scope="session")
def trained_run(fashion_dir, tmp_path_factory) -> Path:
    if not HAVE_TENSORFLOW:
        pytest.skip("training needs TensorFlow (pip install 'tfedge[train]')")
    from tfedge.train.fit import train
    from tfedge.train.hparams import HParams

    out = tmp_path_factory.mktemp("runs") / "tiny"
    train(fashion_dir / "train", out, HParams(epochs=3, batch_size=16), log=lambda *_: None)
    return out


@pytest.fixture(scope="session")
def tflite_models(request) -> dict[str, Path]:
    """{"float32": path, "int8": path} of a tiny Fashion-MNIST classifier with embedded cards."""
    given = os.environ.get("TFEDGE_TEST_MODELS")
    if given:
        return {q: Path(given) / f"model_{q}.tflite" for q in ("float32", "int8")}
    if not HAVE_TENSORFLOW:
        pytest.skip("no TFEDGE_TEST_MODELS and no TensorFlow to make models")
    run_dir = request.getfixturevalue("trained_run")
    from tfedge.convert.convert_run import convert_run

    convert_run(run_dir, ["float32", "int8"], calibration_images=200, verify=False,
                log=lambda *_: None)
    models = {q: run_dir / f"model_{q}.tflite" for q in ("float32", "int8")}
    export_to = os.environ.get("TFEDGE_EXPORT_TEST_MODELS")
    if export_to:  # lets another environment (the emulated Pi) reuse these exact files
        Path(export_to).mkdir(parents=True, exist_ok=True)
        for path in models.values():
            shutil.copy(path, export_to)
    return models


@pytest.fixture(scope="session")
def labelled_video(fashion_dir, tmp_path_factory) -> Path:
    """A real MP4 of the held-out test images (2 frames each), labels in a sidecar file."""
    from labelled_video import write_labelled_video  # tests/labelled_video.py

    from tfedge.edge.labelled import list_classes

    items = [(p, label) for label, paths in sorted(list_classes(fashion_dir / "test").items())
             for p in paths]
    items.sort(key=lambda item: item[0].name)
    path = tmp_path_factory.mktemp("video") / "test.mp4"
    return write_labelled_video(items, path, frames_per_image=2)
