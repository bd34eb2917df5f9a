"""One JSON object per line: a line per frame, and a summary line at the end.

Lines are written by a writer thread, so a slow reader of stdout never stalls inference. It
writes in batches: whatever results arrived while it wrote or slept, then it sleeps `batch_s`
(20 ms), so at hundreds of frames a second a line costs no thread wake-up and no write call of
its own; a line reaches the reader at most `batch_s` after its frame was classified (plus the
write). Up to `backlog` lines wait in memory; beyond that the result stage waits (nothing is
dropped).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import deque

_CLOSE = object()


class JsonLinesSink:
    needs_frames = False

    def __init__(self, stream=None, backlog: int = 10000, batch_s: float = 0.02) -> None:
        self.stream = stream or sys.stdout
        self.stop_requested = False
        self.backlog = backlog
        self.batch_s = batch_s
        self._pending: deque = deque()  # appended by emit, emptied by the writer (both atomic)
        self._wake = threading.Event()
        self._writer_asleep = False
        self._room = threading.Condition()
        self._waiting_for_room = False
        self._thread = threading.Thread(target=self._write, name="tfedge-jsonlines", daemon=True)
        self._thread.start()

    def emit(self, result: dict, frame=None) -> None:
        if len(self._pending) >= self.backlog:
            self._wait_for_room()
        self._pending.append(result)
        if self._writer_asleep:  # only then: a wake-up per line would cost more than the line
            self._writer_asleep = False
            self._wake.set()

    def close(self, summary: dict) -> None:
        self._pending.append({"summary": summary})
        self._pending.append(_CLOSE)
        self._wake.set()
        self._thread.join()

    def _wait_for_room(self) -> None:
        with self._room:
            self._waiting_for_room = True
            while len(self._pending) >= self.backlog and self._thread.is_alive():
                self._room.wait(0.1)
            self._waiting_for_room = False

    def _write(self) -> None:
        pending, encode = self._pending, json.JSONEncoder().encode
        while True:
            # asleep first, then look: an emit in between either sees the flag or left its line
            self._writer_asleep = True
            if not pending:
                self._wake.wait()
            self._writer_asleep = False
            self._wake.clear()
            lines, closing = [], False
            while pending:
                item = pending.popleft()
                if item is _CLOSE:
                    closing = True
                    break
                if not self.stop_requested:
                    lines.append(encode(item))
            if self._waiting_for_room:
                with self._room:
                    self._room.notify_all()
            if lines and not self.stop_requested:  # after a closed pipe: drain, do not write
                try:
                    lines.append("")
                    self.stream.write("\n".join(lines))
                    self.stream.flush()
                except (BrokenPipeError, ValueError):  # reader closed the pipe, or stream closed
                    self.stop_requested = True
            if closing:
                return
            time.sleep(self.batch_s)
