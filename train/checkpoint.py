"""Resumable runs: an in-progress folder beside the run, one checkpoint per finished epoch.

`tfedge train --out runs/NAME` builds the run in `runs/.NAME.partial/` and renames it to
`runs/NAME` only when everything is written, so `runs/NAME` is never half-written. After each
finished epoch the partial folder's `progress/` holds the weights, the optimizer state, the
best weights so far and `state.json` (stage, epoch, history, early-stopping counters), each
written through a temp file and a rename, so a Ctrl-C or a kill at any moment leaves a
consistent checkpoint. `--resume` continues from it; a run that fails before its first epoch
leaves nothing behind.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tfedge.errors import OutputError
from tfedge.fileio import check_writable_parent, publish_folder, replace_atomically, write_text_atomic
from tfedge.run_layout import CONFIG_FILE

PROGRESS = "progress"
STATE_FILE = "state.json"
LAST_WEIGHTS = "last.weights.h5"
BEST_WEIGHTS = "best.weights.h5"
OPTIMIZER_FILE = "optimizer.npz"


def partial_path(out: Path) -> Path:
    return out.parent / f".{out.name}.partial"


def is_complete_run(out: Path) -> bool:
    return (out / CONFIG_FILE).is_file()


@dataclass
class Staging:
    """The in-progress folder of a run and the checkpoint state found in it (None: fresh)."""

    path: Path
    state: dict | None = None
    keep_on_error: bool = True

    @property
    def progress(self) -> Path:
        return self.path / PROGRESS


@contextmanager
def run_staging(out: str | Path, overwrite: bool = False, resume: bool = False, chief: bool = True):
    """Yield a Staging for `out`; publish it as `out` on success.

    On an error or interruption the folder stays when it holds a checkpoint (for --resume)
    and vanishes otherwise. A worker that is not the chief stages in a private temp folder
    that always vanishes.
    """
    out = Path(out)
    if not chief:
        staging = Staging(Path(tempfile.mkdtemp(prefix="tfedge-worker-")), keep_on_error=False)
        try:
            yield staging
        finally:
            shutil.rmtree(staging.path, ignore_errors=True)
        return
    partial = partial_path(out)
    holds_something = out.exists() and (not out.is_dir() or any(out.iterdir()))
    if holds_something and not (overwrite or (resume and partial.is_dir())):
        raise OutputError(f"{out} already holds a run; choose another --out or pass --overwrite")
    if partial.is_dir() and not (resume or overwrite):
        raise OutputError(f"{out} has an interrupted run in {partial}; pass --resume to continue it "
                          "or --overwrite to start again")
    check_writable_parent(out)
    state = None
    if partial.is_dir() and resume:
        state_file = partial / PROGRESS / STATE_FILE
        state = json.loads(state_file.read_text()) if state_file.is_file() else None
    else:
        shutil.rmtree(partial, ignore_errors=True)
    try:
        partial.mkdir(exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot write in {out.parent} ({error.strerror}); choose a writable "
                          "--out") from None
    staging = Staging(partial, state)
    try:
        yield staging
    except BaseException:
        if not (staging.progress / STATE_FILE).is_file():
            shutil.rmtree(partial, ignore_errors=True)
        raise
    shutil.rmtree(staging.progress, ignore_errors=True)
    publish_folder(partial, out)


def save_optimizer(optimizer, path: Path) -> None:
    values = {f"v{i}": np.asarray(v.numpy()) for i, v in enumerate(optimizer.variables)}
    replace_atomically(path, lambda temp: np.savez(temp, **values))


def load_optimizer(optimizer, trainable_variables, path: Path) -> None:
    optimizer.build(trainable_variables)
    with np.load(path) as saved:
        values = [saved[f"v{i}"] for i in range(len(saved.files))]
    if len(values) != len(optimizer.variables):
        raise OutputError(f"{path}: optimizer checkpoint does not match this model; pass --overwrite")
    for variable, value in zip(optimizer.variables, values):
        variable.assign(value)


@dataclass
class StageProgress:
    """Early-stopping and resume bookkeeping of one training stage (kept in state.json)."""

    stage: int
    epochs_done: int = 0
    best_val_loss: float = float("inf")
    best_epoch: int = -1
    wait: int = 0
    finished: bool = False

    @classmethod
    def from_state(cls, state: dict | None, stage: int) -> StageProgress:
        saved = (state or {}).get("stages", {}).get(str(stage))
        return cls(**saved) if saved else cls(stage)


def make_checkpoint_callback(staging: Staging, progress: StageProgress, state: dict, patience: int,
                             max_train_seconds: float | None, validate=None):
    """A Keras callback: per-epoch checkpoint, best weights, early stopping, time limit.

    `validate` (optional) is called first at the end of each epoch and returns the epoch's
    validation logs ({"val_loss": ...}); they join the epoch's logs, so early stopping, the
    best weights, the history and Keras's progress line all use them.
    """
    import keras

    class EpochCheckpoint(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            if validate is not None and logs is not None:
                logs.update(validate())  # in place: the callbacks after this one see it too
            logs = dict(logs or {})
            progress.epochs_done = epoch + 1
            val_loss = logs.get("val_loss", float("inf"))
            staging.progress.mkdir(exist_ok=True)
            writing = time.perf_counter()
            last = replace_atomically(staging.progress / LAST_WEIGHTS, self.model.save_weights)
            if val_loss < progress.best_val_loss:
                progress.best_val_loss, progress.best_epoch, progress.wait = float(val_loss), epoch, 0
                # the same weights: a file copy, not a second walk of the model by Keras
                replace_atomically(staging.progress / BEST_WEIGHTS, lambda temp: shutil.copyfile(last, temp))
            else:
                progress.wait += 1
            save_optimizer(self.model.optimizer, staging.progress / OPTIMIZER_FILE)
            # the epoch's time includes its validation and checkpoint: what the user waits for
            seconds = time.perf_counter() - self.started
            history = state.setdefault("history", {})
            timings = {"epoch_seconds": seconds, "checkpoint_seconds": time.perf_counter() - writing}
            for key, value in {**logs, **timings, "stage": progress.stage}.items():
                history.setdefault(key, []).append(float(value))
            state["train_seconds"] = state.get("train_seconds", 0.0) + seconds
            stop = patience and progress.wait >= patience
            # the next epoch may take as long as the slowest so far (others share the machine)
            slowest = max(history["epoch_seconds"])
            out_of_time = max_train_seconds and state["train_seconds"] + slowest > max_train_seconds
            if stop or out_of_time:
                self.model.stop_training = True
                progress.finished = True
                state["stopped_early"] = state.get("stopped_early", []) + [
                    f"stage {progress.stage} after epoch {epoch + 1}: "
                    + ("no lower validation loss for " f"{patience} epochs" if stop else "time limit")]
            state.setdefault("stages", {})[str(progress.stage)] = progress.__dict__
            write_text_atomic(staging.progress / STATE_FILE, json.dumps(state, indent=1))

    return EpochCheckpoint()


def save_state(staging: Staging, state: dict) -> None:
    staging.progress.mkdir(exist_ok=True)
    write_text_atomic(staging.progress / STATE_FILE, json.dumps(state, indent=1))
