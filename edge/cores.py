"""Cores for the interpreter, cores for the rest of the run.

With `--threads N` below the cores this process may use, `tfedge run` keeps the interpreter (the
inference thread and the interpreter's own worker threads) on the first N of them and every other
thread (capture, the result stage, the sinks' threads, the hot-swap watcher) on the others.
Left to itself, Linux often wakes a helper thread on the core where the interpreter is running,
so the helper's few dozen microseconds a frame are taken out of `invoke()`: on the 2-core
machine, `tfedge run --threads 1` on the 1280x720 video classified 2.9% more frames a second with
the split (median of 6 alternating pairs, 1.006-1.037x; its `invoke()` 0.982x as long);
benchmarks/edge_pipeline.py measures the whole run against the raw invoke rate.

Linux only (there `sched_setaffinity` takes a thread's id); elsewhere, with the backend's own
thread count (`--threads` not given) or with as many threads as cores, nothing is pinned.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class CoreSplit:
    interpreter: frozenset[int]  # the first `--threads` cores this process may use
    helpers: frozenset[int]  # the others


def core_split(interpreter_threads: int | None, allowed: set[int] | None = None) -> CoreSplit | None:
    """The split for `interpreter_threads` among the `allowed` cores (default: this process's
    affinity); None when there is nothing to split or no way to pin threads here."""
    if interpreter_threads is None or not sys.platform.startswith("linux"):
        return None  # elsewhere sched_setaffinity, if there, does not take a thread's id
    cores = sorted(os.sched_getaffinity(0) if allowed is None else allowed)
    if not 1 <= interpreter_threads < len(cores):
        return None
    return CoreSplit(frozenset(cores[:interpreter_threads]), frozenset(cores[interpreter_threads:]))


def _pin(thread_id: int, cores: frozenset[int]) -> bool:
    try:
        os.sched_setaffinity(thread_id, cores)
        return True
    except OSError:  # gone meanwhile, or not allowed here: it runs where the OS puts it
        return False


def _thread_ids() -> set[int]:
    try:
        return {int(name) for name in os.listdir("/proc/self/task")}
    except OSError:
        return set()


class CorePlan:
    """Pins a run's threads by a CoreSplit (None: pins nothing); use it as a context manager.

    `interpreter(make)` runs `make` (which creates an interpreter) with the calling thread on the
    interpreter's cores, so the interpreter's worker threads start there too; the first call is
    the inference thread's, which stays there. `place_helpers()`, once every helper thread of the
    run has started, moves the threads started since the plan was made, but the interpreters'
    own, to the helper cores. Threads started later by a helper thread start there as well.
    """

    def __init__(self, split: CoreSplit | None) -> None:
        self.split = split
        self._inference_thread: int | None = None
        self._inference_cores: set[int] | None = None  # the inference thread's, before
        self._interpreter_threads: set[int] = set()
        self._before = _thread_ids() if split is not None else set()  # not the run's: left alone

    def __enter__(self) -> CorePlan:
        return self

    def __exit__(self, *_exc) -> None:
        """The inference thread back on the cores it had (it may be a caller's main thread)."""
        if self._inference_thread is not None and self._inference_cores is not None:
            _pin(self._inference_thread, frozenset(self._inference_cores))

    def interpreter(self, make: Callable):
        """`make()`, its interpreter's threads started on the interpreter's cores."""
        if self.split is None:
            return make()
        me = threading.get_native_id()
        before = _thread_ids()
        if self._inference_thread is None:  # the inference thread: it stays on these cores
            self._inference_thread, self._inference_cores = me, os.sched_getaffinity(0)
            _pin(me, self.split.interpreter)
            result = make()
        else:  # a model loaded by the hot-swap watcher: only while its interpreter is made
            with self._on(self.split.interpreter):
                result = make()
        self._interpreter_threads |= _thread_ids() - before - {me}
        return result

    def place_helpers(self) -> None:
        """Every thread started since the plan was made, but the interpreters' own, on the helper
        cores (threads the process had before are not the run's: left where they are)."""
        if self.split is None:
            return
        for thread_id in _thread_ids() - self._before - self._interpreter_threads:
            _pin(thread_id, self.split.helpers)

    def describe(self) -> str:
        """For the start-up line: "interpreter on cores 0,1,2, the rest on 3" ("" without a split)."""
        if self.split is None:
            return ""

        def named(cores: frozenset[int]) -> str:
            return ("core " if len(cores) == 1 else "cores ") + ",".join(map(str, sorted(cores)))

        return f"interpreter on {named(self.split.interpreter)}, the rest on {named(self.split.helpers)}"

    @contextmanager
    def _on(self, cores: frozenset[int]) -> Iterator[None]:
        me = threading.get_native_id()
        previous = os.sched_getaffinity(0)
        _pin(me, cores)
        try:
            yield
        finally:
            _pin(me, frozenset(previous))
