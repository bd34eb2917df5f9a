"""How many threads each part of `tfedge run` gets: the interpreter's (`--threads auto`) and
OpenCV's own pool. Standard library only at import time (the option parser uses it)."""

from __future__ import annotations

import argparse
import os

# OpenCV's pool for resize and colour conversion: one thread. Preprocessing a 720p frame to 224x224
# takes about 0.5 ms on one thread (tfedge.edge.preprocess.resize); a pool of one thread per core
# would wake on every frame and take cores from the interpreter's threads (on a Raspberry Pi
# `--threads 4` wants all four), which costs more than it saves.
OPENCV_THREADS = 1

AUTO = "auto"


def cores() -> int:
    """CPU cores this process may run on (its affinity where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def auto_threads(available: int | None = None) -> int:
    """Interpreter threads for `--threads auto`: the cores left after the capture thread (which
    decodes and preprocesses), at least one. A 4-core Raspberry Pi gets 3; a 2-core machine 1."""
    available = cores() if available is None else available
    return max(1, available - 1)


def decode_threads(interpreter_threads: int | None, available: int | None = None) -> int | None:
    """FFmpeg decoding threads for video files and streams: the cores the interpreter's threads
    leave, at least one; None (FFmpeg's own choice, a thread per core) when the interpreter's
    count is the backend's own choice.

    FFmpeg's frame threads, one per core, wake on every frame and take the interpreter's cores:
    on 2 cores with `--threads 1`, a 1280x720 H.264 frame costs 1.01 ms of CPU on FFmpeg's
    threads against 0.78 ms on one, and `tfedge run` classifies 4-7% more frames a second
    (benchmarks/edge_pipeline.py). One thread decodes 720p far faster than a 224x224 model runs
    on the other cores; a 4-core Raspberry Pi with `--threads auto` (3) decodes on one core too.
    """
    if interpreter_threads is None:
        return None
    available = cores() if available is None else available
    return max(1, available - interpreter_threads)


def lower_thread_priority(nice: int) -> None:
    """Raise the calling thread's nice value by `nice`, so the interpreter's threads get the CPU
    first on busy cores (Linux threads have their own; elsewhere, or where not allowed, a no-op)."""
    import threading  # not at import: the option parser uses this module

    if nice <= 0 or not hasattr(os, "setpriority") or not hasattr(threading, "get_native_id"):
        return
    try:
        thread_id = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread_id, os.getpriority(os.PRIO_PROCESS, thread_id) + nice)
    except OSError:
        pass  # not allowed here: run at the same priority


def threads_option(text: str) -> int | str:
    """argparse type of `--threads`: a whole number, or "auto"."""
    if text.strip().lower() == AUTO:
        return AUTO
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number or 'auto'") from None


def resolve_threads(threads: int | str | None) -> int | None:
    """`--threads` as the interpreter takes it: "auto" becomes `auto_threads()`."""
    return auto_threads() if threads == AUTO else threads


def limit_opencv_threads() -> None:
    """Give OpenCV's pool OPENCV_THREADS threads (call once, before the first frame)."""
    import cv2  # not at import: the option parser uses this module

    cv2.setNumThreads(OPENCV_THREADS)
