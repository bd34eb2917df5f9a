"""Triggers: when the stable label is one of `--on LABEL` with at least `--min-score`, run a
command and/or save a snapshot JPEG, then stay quiet for `--cooldown` seconds (per label).

A TriggerSink is an ordinary sink: `emit` only queues the work; a worker thread encodes and
writes snapshots (temp file, then rename) and starts commands without waiting for them. The
command runs through the shell with TFEDGE_LABEL, TFEDGE_SCORE, TFEDGE_FRAME, TFEDGE_TIMESTAMP
and, when a snapshot was saved, TFEDGE_SNAPSHOT in its environment.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2

from tfedge.fileio import write_bytes_atomic


@dataclass(frozen=True)
class TriggerSettings:
    """When a trigger fires and what it does.

    Attributes:
        labels: labels that fire it (the stable label, after smoothing).
        min_score: the stable score a label needs.
        cooldown: seconds after firing for a label before it fires again for that label.
        command: a shell command to start (None: none).
        snapshot_dir: a folder to save the frame to as JPEG (None: none).
    """

    labels: tuple[str, ...]
    min_score: float = 0.5
    cooldown: float = 10.0
    command: str | None = None
    snapshot_dir: Path | None = None

    def __post_init__(self) -> None:
        if not self.labels:
            raise ValueError("a trigger needs at least one --on LABEL")
        if not 0.0 <= self.min_score <= 1.0:
            raise ValueError(f"--min-score {self.min_score} must be between 0 and 1")
        if self.cooldown < 0:
            raise ValueError(f"--cooldown {self.cooldown} must be zero or more seconds")
        if self.command is None and self.snapshot_dir is None:
            raise ValueError("--on needs an action: --exec COMMAND and/or --snapshot-dir DIR")


def snapshot_name(result: dict) -> str:
    safe_label = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(result["stable_label"]))[:60]
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(result["timestamp"]))
    return f"{stamp}_{result['frame']:06d}_{safe_label}.jpg"


class TriggerSink:
    command_wait_s = 0.5

    def __init__(self, settings: TriggerSettings, log=None) -> None:
        self.settings = settings
        self.log = log or (lambda message: print(message, file=sys.stderr, flush=True))
        self.fired = 0
        self.skipped = 0  # fired while the worker was still busy with 8 earlier ones
        self.failures = 0
        self._last_fired: dict[str, float] = {}
        self._processes: list[subprocess.Popen] = []
        self._work: queue.Queue = queue.Queue(maxsize=8)
        self._thread = threading.Thread(target=self._worker, name="tfedge-triggers", daemon=True)
        self._thread.start()

    def emit(self, result: dict, frame) -> None:
        label = result.get("stable_label")
        if label not in self.settings.labels or result["stable_score"] < self.settings.min_score:
            return
        now = time.monotonic()
        last = self._last_fired.get(label)
        if last is not None and now - last < self.settings.cooldown:
            return
        self._last_fired[label] = now
        try:
            self._work.put_nowait((result, frame))
            self.fired += 1
        except queue.Full:
            self.skipped += 1

    def close(self, summary: dict) -> None:
        """Finish queued snapshots; give running commands up to `command_wait_s` in all, so that
        a stopping run is not held up (commands still running are left to finish on their own)."""
        self._work.put(None)
        self._thread.join()
        deadline = time.monotonic() + self.command_wait_s
        for process in self._processes:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.log(f"tfedge run: trigger command (pid {process.pid}) still running; left running")

    def facts(self) -> dict:
        return {"triggers_fired": self.fired, "triggers_skipped": self.skipped,
                "trigger_failures": self.failures}

    def _worker(self) -> None:
        while True:
            item = self._work.get()
            if item is None:
                return
            result, frame = item
            try:
                self._act(result, frame)
            except (OSError, ValueError, cv2.error) as error:
                self.failures += 1
                self.log(f"tfedge run: trigger for {result['stable_label']!r} failed ({error})")
            self._processes = [p for p in self._processes if p.poll() is None]

    def _act(self, result: dict, frame) -> None:
        env = dict(os.environ, TFEDGE_LABEL=str(result["stable_label"]),
                   TFEDGE_SCORE=f"{result['stable_score']:.4f}", TFEDGE_FRAME=str(result["frame"]),
                   TFEDGE_TIMESTAMP=f"{result['timestamp']:.3f}")
        if self.settings.snapshot_dir is not None:
            ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
            if not ok:
                raise ValueError("the frame could not be encoded as JPEG")
            path = write_bytes_atomic(Path(self.settings.snapshot_dir) / snapshot_name(result),
                                      encoded.tobytes())
            env["TFEDGE_SNAPSHOT"] = str(path)
        if self.settings.command is not None:
            self._processes.append(subprocess.Popen(self.settings.command, shell=True, env=env,
                                                    stdin=subprocess.DEVNULL))
