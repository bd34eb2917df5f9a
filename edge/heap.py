"""The C heap of `tfedge run` (glibc's malloc on Linux; elsewhere these do nothing).

glibc gives each thread that allocates under contention an arena of its own, up to 8 per core:
the capture thread's decoded frames, the result stage's results and the interpreter's threads
each leave freed memory resident in theirs. Two arenas are enough for a handful of threads whose
large allocations come a few per frame (Python's small objects go through its own allocator, under
the GIL): `tfedge run` on a 720p MP4 peaked 1 MB lower with two than with glibc's default, at the
same FPS (benchmarks/edge_pipeline.py).
"""

from __future__ import annotations

import ctypes

RUN_ARENAS = 2
_M_ARENA_MAX = -8  # glibc's malloc.h


def _libc():
    return ctypes.CDLL(None)  # the process's own symbols hold libc's (no ctypes.util: 1.5 MB)


def limit_arenas(arenas: int = RUN_ARENAS) -> bool:
    """Let malloc make at most `arenas` arenas from now on (call before threads start); False
    where this C library has no such setting."""
    try:
        return bool(_libc().mallopt(_M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False


def trim() -> None:
    """Hand freed heap back to the OS (glibc keeps it otherwise, so RSS would creep up per swap)."""
    try:
        _libc().malloc_trim(0)
    except (OSError, AttributeError, TypeError):
        pass  # not glibc: nothing to trim
