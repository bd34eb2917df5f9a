"""The multi-worker workarounds reach into private Keras code: these tests fail when a Keras
upgrade moves it, and show that the guard turns such a Keras into one line and exit code 8
before training starts. The workarounds themselves run for real in tests/train/test_distributed.py.
"""

import json
import re

import keras
import numpy as np
import pytest
from keras.src.backend.tensorflow import trainer

from tfedge.errors import DependencyError
from tfedge.main import main
from tfedge.train.distribute import (
    MULTI_WORKER_KERAS,
    apply_keras_multi_worker_workarounds,
    check_multi_worker_keras,
    keras_internals_problems,
)

TRAINER = "keras.src.backend.tensorflow.trainer"
LOW, HIGH = (".".join(map(str, bound)) for bound in MULTI_WORKER_KERAS)


def test_installed_keras_has_every_internal_the_multi_worker_workarounds_touch():
    assert keras_internals_problems() == []


def test_installed_keras_is_one_the_multi_worker_workarounds_were_written_for():
    try:
        check_multi_worker_keras()
    except DependencyError as error:
        pytest.fail(f"{error}\nKeras {keras.__version__} is outside MULTI_WORKER_KERAS: run "
                    "tests/train/test_distributed.py on it, then widen the range in "
                    "tfedge/train/distribute.py (or fix the workarounds)")


@pytest.mark.parametrize("version", [f"{LOW}.0", f"{LOW}.7", f"{LOW}.1rc1"])
def test_guard_accepts_the_supported_range(monkeypatch, version):
    monkeypatch.setattr(keras, "__version__", version)
    check_multi_worker_keras()


@pytest.mark.parametrize("version", [f"{HIGH}.0", f"{HIGH}.0.dev2026", "4.0.0", "3.0.0", "2.15.0", ""])
def test_guard_refuses_a_keras_outside_the_range_in_one_line(monkeypatch, version):
    monkeypatch.setattr(keras, "__version__", version)
    with pytest.raises(DependencyError) as raised:
        check_multi_worker_keras()
    message = str(raised.value)
    assert "\n" not in message
    assert f"Keras {version} is installed" in message
    assert f"pip install 'keras>={LOW},<{HIGH}'" in message and "--strategy default" in message


def _make_function_that_reduces_elsewhere(self, step_function):
    return step_function


def _reduce_with_other_arguments(values, strategy):
    return values


def _fit_that_builds_elsewhere(self, x=None, y=None):
    return None


def _defining_class(name: str) -> type:
    return next(owner for owner in keras.Model.__mro__ if name in vars(owner))


# what a Keras release could change -> (module or method name, replacement or None: removed, problem)
BREAKS = {
    "function gone": (trainer, "_collective_all_reduce_multi_worker", None,
                      f"{TRAINER}._collective_all_reduce_multi_worker is gone"),
    "method gone": ("_maybe_symbolic_build", "_maybe_symbolic_build", None,
                    "keras.Model._maybe_symbolic_build is gone"),
    "other arguments": (trainer, "reduce_per_replica", _reduce_with_other_arguments,
                        f"{TRAINER}.reduce_per_replica no longer takes (values, strategy, reduction)"),
    "build argument renamed": ("_symbolic_build", "_symbolic_build", _fit_that_builds_elsewhere,
                               "keras.Model._symbolic_build no longer takes (self, iterator, data_batch)"),
    "step reduces elsewhere": ("_make_function", "_make_function", _make_function_that_reduces_elsewhere,
                               "keras.Model._make_function no longer calls reduce_per_replica"),
    "fit builds elsewhere": ("fit", "fit", _fit_that_builds_elsewhere,
                             "keras.Model.fit no longer calls _maybe_symbolic_build"),
}


@pytest.mark.parametrize("owner, name, replacement, problem", BREAKS.values(), ids=list(BREAKS))
def test_guard_refuses_a_keras_whose_internals_moved(monkeypatch, owner, name, replacement, problem):
    if isinstance(owner, str):
        owner = _defining_class(owner)
    if replacement is None:
        monkeypatch.delattr(owner, name)
    else:
        monkeypatch.setattr(owner, name, replacement)
    assert problem in keras_internals_problems()
    with pytest.raises(DependencyError) as raised:
        check_multi_worker_keras()
    assert re.fullmatch(rf"--strategy multi-worker .* Keras {re.escape(keras.__version__)} lacks "
                        rf"\(.*{re.escape(problem)}.*\): reinstall .*", str(raised.value))


def test_an_unsupported_keras_stops_multi_worker_training_before_it_starts(synthetic_dir, tmp_path,
                                                                           monkeypatch, capsys):
    monkeypatch.setattr(keras, "__version__", f"{HIGH}.0")
    # a cluster nobody listens on: the guard must refuse before the strategy tries to reach it
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]},
                                                "task": {"type": "worker", "index": 0}}))
    out = tmp_path / "runs" / "multi"
    assert main(["train", str(synthetic_dir), "--out", str(out), "--epochs", "1"]) == 8
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tfedge train: error: --strategy multi-worker")
    assert f"Keras {HIGH}.0 is installed" in lines[0]
    assert not out.parent.exists()


class FakeStrategy:
    """Stands in for a MultiWorkerMirroredStrategy across workers: records each reduce."""

    def __init__(self):
        self.reduces = []

    def reduce(self, operation, value, axis):
        self.reduces.append((operation, axis))
        return value


def test_workarounds_build_from_the_dataset_spec_and_average_logs_across_workers(monkeypatch):
    import tensorflow as tf

    monkeypatch.setattr(trainer, "reduce_per_replica", trainer.reduce_per_replica)  # undone after
    original = trainer.reduce_per_replica
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).random((8, 4), dtype=np.float32)
    y = np.arange(8) % 2
    dataset = tf.data.Dataset.from_tensor_slices((x, y, np.ones(8, np.float32))).batch(4)
    apply_keras_multi_worker_workarounds(model, dataset)
    assert model.built and model.optimizer.built  # built from the spec, before any batch is read
    assert model._maybe_symbolic_build(data_batch=None) is None
    assert trainer.reduce_per_replica.original is original
    apply_keras_multi_worker_workarounds(model, dataset)  # a second stage wraps the original again
    assert trainer.reduce_per_replica.original is original

    fake = FakeStrategy()
    monkeypatch.setattr(trainer, "_collective_all_reduce_multi_worker", lambda strategy: True)
    logs = {"loss": tf.constant(0.5), "accuracy": tf.constant(1.0)}
    assert trainer.reduce_per_replica(logs, fake, "auto") == logs
    assert fake.reduces == [("MEAN", None), ("MEAN", None)]  # scalars: axis None, not 0
    monkeypatch.setattr(trainer, "_collective_all_reduce_multi_worker", lambda strategy: False)
    assert trainer.reduce_per_replica(logs, fake, "auto") == logs and len(fake.reduces) == 2
    history = model.fit(dataset, epochs=1, shuffle=False, verbose=0)  # one device: training is unchanged
    assert np.isfinite(history.history["loss"][0])
