"""A `tfedge run --headless` in a child process whose JSON lines are read as they come."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time


class LiveRun:
    """Starts `python -m tfedge run MODEL ARGS... --headless`; `lines` fill in from a thread."""

    def __init__(self, model, *args: str) -> None:
        command = [sys.executable, "-m", "tfedge", "run", str(model), *args, "--headless"]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[dict] = []
        self.errors: list[str] = []
        self._new: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_errors, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            record = json.loads(line)
            self.lines.append(record)
            self._new.put(record)

    def _read_errors(self) -> None:
        for line in self.process.stderr:
            self.errors.append(line.rstrip("\n"))

    def results(self) -> list[dict]:
        return [line for line in self.lines if "frame" in line]

    def wait_for(self, check, timeout: float = 60.0, what: str = "a line") -> dict:
        """The first line (already read or coming) for which `check(line)` is true."""
        for line in list(self.lines):
            if check(line):
                return line
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._new.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None and self._new.empty():
                    break
                continue
            if check(line):
                return line
        raise AssertionError(f"no {what} within {timeout} s; stderr: {self.errors[-5:]}")

    def event(self, kind: str, after: int = 0, timeout: float = 60.0) -> dict:
        """The first result after frame `after` carrying an event of type `kind`."""
        return self.wait_for(lambda line: "frame" in line and line["frame"] > after
                             and (line.get("event") or {}).get("type") == kind, timeout, f"{kind} event")

    def stop(self, timeout: float = 30.0) -> dict:
        """SIGTERM; the summary line."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout)
        time.sleep(0.1)
        return next((line["summary"] for line in reversed(self.lines) if "summary" in line), {})
