"""A progress bar on stderr for long loops (calibration): redrawn on a terminal, one line otherwise."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
BAR_WIDTH = 30


def progress(items: Iterable[T], total: int, label: str, stream=None,
             size: Callable[[T], int] = lambda item: 1) -> Iterator[T]:
    """Yield `items`, drawing `label [#####.....] n/total` on `stream` (default stderr).

    `size` tells how many units of `total` one item is (a chunk of images, for example).
    """
    stream = stream if stream is not None else sys.stderr
    interactive = getattr(stream, "isatty", lambda: False)()
    step = max(1, total // 100)
    done = 0

    def draw(end: str) -> None:
        filled = BAR_WIDTH * done // total if total else BAR_WIDTH
        stream.write(f"\r{label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total}{end}")
        stream.flush()

    for item in items:
        yield item
        before, done = done, done + size(item)
        if interactive and (done // step != before // step or done == total):
            draw("")
    if interactive:
        stream.write("\n")
    else:
        draw("\n")
