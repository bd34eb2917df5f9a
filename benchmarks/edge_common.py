"""Helpers shared by the edge benchmarks: run `tfedge run` as a real process, read its summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def measured_run(command: list[str], env: dict | None = None) -> tuple[bytes, bytes, dict]:
    """Run `command` to its end; (last stdout line, stderr, measures) where measures holds
    "peak_rss_mb" (the process's own high-water mark, from wait4), "cpu_s" (its CPU time and that
    of the children it waited for) and "wall_s". RuntimeError when it fails."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    last = b""
    for line in process.stdout:
        last = line
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    returncode = os.waitstatus_to_exitcode(status)
    if returncode != 0:
        raise RuntimeError(f"{command[:3]} failed ({returncode}): {stderr.decode()[-2000:]}")
    return last, stderr, {"peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
                          "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
                          "wall_s": round(time.perf_counter() - started, 2)}


def tfedge_run(model, source, *extra: str, display: str | None = None) -> dict:
    """Run `tfedge run MODEL --source SOURCE --headless EXTRA...` in a new process; its summary,
    with the measures of `measured_run` added. With `display` (":N"), the run shows its window
    there instead of --headless (its summary then comes on stderr)."""
    command = [sys.executable, "-m", "tfedge", "run", str(model), "--source", str(source),
               *([] if display else ["--headless"]), *extra]
    env = os.environ | {"DISPLAY": display} if display else None
    last, stderr, measures = measured_run(command, env)
    if display:
        marker = b"tfedge run: summary "
        line = [line for line in stderr.splitlines() if line.startswith(marker)][-1]
        summary = json.loads(line[len(marker):])
    else:
        summary = json.loads(last)["summary"]
    return summary | measures


def machine_note() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{os.cpu_count()} CPUs, load average {load:.2f} when it ended "
            "(a shared machine: other jobs were running too)")
