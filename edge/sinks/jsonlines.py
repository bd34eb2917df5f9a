"""One JSON object per line: a line per frame, and a summary line at the end.

Lines are written by a writer thread, so a slow reader of stdout never stalls inference; up to
`backlog` lines wait in memory, beyond that the inference loop waits (nothing is dropped).
"""

from __future__ import annotations

import json
import queue
import sys
import threading

_CLOSE = object()


class JsonLinesSink:
    def __init__(self, stream=None, backlog: int = 10000) -> None:
        self.stream = stream or sys.stdout
        self.stop_requested = False
        self._lines: queue.Queue = queue.Queue(maxsize=backlog)
        self._thread = threading.Thread(target=self._write, name="tfedge-jsonlines", daemon=True)
        self._thread.start()

    def emit(self, result: dict, frame=None) -> None:
        self._lines.put(result)

    def close(self, summary: dict) -> None:
        self._lines.put({"summary": summary})
        self._lines.put(_CLOSE)
        self._thread.join()

    def _write(self) -> None:
        while True:
            item = self._lines.get()
            if item is _CLOSE:
                break
            if self.stop_requested:
                continue  # the reader is gone: drain, do not write
            try:
                self.stream.write(json.dumps(item) + "\n")
                if self._lines.empty():
                    self.stream.flush()
            except (BrokenPipeError, ValueError):  # reader closed the pipe, or stream closed
                self.stop_requested = True
