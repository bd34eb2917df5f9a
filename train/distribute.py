"""Where training runs: one device, every GPU (mirrored), several workers; float16 and XLA on GPUs.

`TF_CONFIG` (the standard JSON naming the cluster and this worker's task) selects
MultiWorkerMirroredStrategy; the run folder is written by the chief (task 0) only. Keras 3's
`fit` needs two workarounds under that strategy, which reach into private Keras code; they are
checked against the installed Keras before the strategy is created.
"""

from __future__ import annotations

import inspect
import json
import os
import re
from dataclasses import dataclass

from tfedge.errors import DependencyError, UsageError
from tfedge.train.hparams import HParams


@dataclass
class Placement:
    """The resolved choices for one run (recorded in config.json)."""

    strategy: object  # tf.distribute.Strategy
    strategy_name: str
    replicas: int
    mixed_precision: bool
    xla: bool
    is_chief: bool
    gpus: int


def _tf_config() -> dict | None:
    text = os.environ.get("TF_CONFIG")
    if not text:
        return None
    try:
        config = json.loads(text)
    except json.JSONDecodeError:
        raise UsageError("TF_CONFIG is not valid JSON; see the TensorFlow multi-worker guide") from None
    if not isinstance(config, dict) or "cluster" not in config:
        raise UsageError("TF_CONFIG has no 'cluster'; see the TensorFlow multi-worker guide")
    return config


def _is_chief(config: dict | None) -> bool:
    if config is None:
        return True
    task = config.get("task", {})
    if task.get("type") == "chief":
        return True
    return task.get("type", "worker") == "worker" and int(task.get("index", 0)) == 0 \
        and "chief" not in config["cluster"]


def place(hparams: HParams) -> Placement:
    """Pick the distribution strategy, mixed precision policy and XLA for this machine.

    Sets Keras's global dtype policy; call before building the model.
    """
    import keras
    import tensorflow as tf

    gpus = len(tf.config.list_physical_devices("GPU"))
    config = _tf_config()
    name = hparams.strategy
    if name == "auto":
        name = "multi-worker" if config else ("mirrored" if gpus > 1 else "default")
    if name == "multi-worker":
        if config is None:
            raise UsageError("--strategy multi-worker needs TF_CONFIG naming the cluster and this task")
        check_multi_worker_keras()
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    elif name == "mirrored":
        devices = None if gpus else [d.name for d in tf.config.list_logical_devices("CPU")]
        strategy = tf.distribute.MirroredStrategy(devices=devices)
    else:
        strategy = tf.distribute.get_strategy()
    mixed = hparams.mixed_precision == "on" or (hparams.mixed_precision == "auto" and gpus > 0)
    keras.mixed_precision.set_global_policy("mixed_float16" if mixed else "float32")
    xla = hparams.xla == "on" or (hparams.xla == "auto" and gpus > 0)
    return Placement(strategy, name, strategy.num_replicas_in_sync, mixed, xla, _is_chief(config), gpus)


# The Keras releases the multi-worker workarounds were written for and tested on (at least the
# first, below the second). Widen it only after tests/train/test_distributed.py passes on the
# new release; tests/train/test_keras_internals.py fails until then.
MULTI_WORKER_KERAS = ((3, 15), (3, 16))


def _keras_range() -> str:
    low, high = (".".join(map(str, bound)) for bound in MULTI_WORKER_KERAS)
    return f"keras>={low},<{high}"


def _version_tuple(version: str) -> tuple[int, ...]:
    """The leading release numbers of a version string: "3.16.0.dev2025" -> (3, 16, 0)."""
    match = re.match(r"\d+(\.\d+)*", version)
    return tuple(int(part) for part in match.group(0).split(".")) if match else ()


def _parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


def _source_calls(function, call: str) -> bool:
    """Whether `function`'s source contains `call`; True where Keras ships without sources."""
    try:
        return call in inspect.getsource(function)
    except (OSError, TypeError):
        return True


def keras_internals_problems() -> list[str]:
    """What the multi-worker workarounds expect of Keras's private code and do not find.

    Empty when every function they replace or call exists with the arguments they pass, and
    when Keras still calls them from where the workarounds intercept.
    """
    import keras

    try:
        from keras.src import tree
        from keras.src.backend.tensorflow import trainer
    except ImportError as error:
        return [f"cannot import {error.name or error}"]
    module = "keras.src.backend.tensorflow.trainer"
    expected = [
        (trainer, module, "reduce_per_replica", ["values", "strategy", "reduction"]),
        (trainer, module, "_collective_all_reduce_multi_worker", ["strategy"]),
        (tree, "keras.src.tree", "map_structure", ["func"]),
        (keras.Model, "keras.Model", "_symbolic_build", ["self", "iterator", "data_batch"]),
        (keras.Model, "keras.Model", "_maybe_symbolic_build", ["self", "iterator", "data_batch"]),
        (keras.Model, "keras.Model", "_make_function", ["self", "step_function"]),
    ]
    problems = []
    for owner, owner_name, name, parameters in expected:
        function = getattr(owner, name, None)
        if not callable(function):
            problems.append(f"{owner_name}.{name} is gone")
        elif _parameters(function)[:len(parameters)] != parameters:
            problems.append(f"{owner_name}.{name} no longer takes ({', '.join(parameters)})")
    if problems:
        return problems
    if not _source_calls(keras.Model.fit, "self._maybe_symbolic_build("):
        problems.append("keras.Model.fit no longer calls _maybe_symbolic_build")
    if not _source_calls(keras.Model._make_function, "reduce_per_replica("):
        problems.append("keras.Model._make_function no longer calls reduce_per_replica")
    return problems


def check_multi_worker_keras() -> None:
    """Refuse the multi-worker strategy on a Keras the workarounds were not written for.

    Called before the strategy connects to the cluster, so nothing starts and nothing is written.

    Raises:
        DependencyError: the installed Keras is outside `MULTI_WORKER_KERAS` or lacks what the
            workarounds touch.
    """
    import keras

    version = keras.__version__
    low, high = MULTI_WORKER_KERAS
    patch = "--strategy multi-worker patches private Keras code (keras-team/keras#20585)"
    one_machine = "or train on one machine (unset TF_CONFIG, or pass --strategy default or mirrored)"
    if not low <= _version_tuple(version)[:2] < high:
        raise DependencyError(f"{patch} written for {_keras_range()}, and Keras {version} is installed: "
                              f"pip install '{_keras_range()}', {one_machine}")
    problems = keras_internals_problems()
    if problems:
        raise DependencyError(f"{patch} that Keras {version} lacks ({'; '.join(problems)}): reinstall "
                              f"'{_keras_range()}' from PyPI, {one_machine}")


def apply_keras_multi_worker_workarounds(model, dataset) -> None:
    """Work around two Keras 3 bugs under MultiWorkerMirroredStrategy (keras-team/keras#20585).

    1. `fit` first reduces a whole distributed (x, y, w) batch across workers just to learn
       its shapes, which this strategy cannot do for a tuple: we build from the dataset's
       element spec instead and tell `fit` that nothing is left to build.
    2. Each step's logs (scalars) are reduced with axis=0, which fails on scalars: we reduce
       them as a mean across workers, so every worker sees the same validation loss and
       early stopping agrees everywhere.

    `check_multi_worker_keras` (called by `place`) has checked that these internals exist.
    """
    import keras
    from keras.src.backend.tensorflow import trainer
    from keras.src.tree import map_structure

    spec = [keras.KerasTensor(s.shape, s.dtype.name) for s in dataset.element_spec]
    with model.distribute_strategy.scope():
        model._symbolic_build(data_batch=tuple(spec))
    model._maybe_symbolic_build = lambda *args, **kwargs: None
    original = getattr(trainer.reduce_per_replica, "original", trainer.reduce_per_replica)

    def reduce_per_replica(values, strategy, reduction):
        if reduction == "auto" and trainer._collective_all_reduce_multi_worker(strategy):
            return map_structure(lambda value: strategy.reduce("MEAN", value, axis=None), values)
        return original(values, strategy, reduction)

    reduce_per_replica.original = original
    trainer.reduce_per_replica = reduce_per_replica
