"""Where training runs: one device, every GPU (mirrored), several workers; float16 and XLA on GPUs.

`TF_CONFIG` (the standard JSON naming the cluster and this worker's task) selects
MultiWorkerMirroredStrategy; the run folder is written by the chief (task 0) only.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from tfedge.errors import UsageError
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
