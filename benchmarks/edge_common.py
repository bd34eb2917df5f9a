"""Helpers shared by the edge benchmarks: run `tfedge run` as a real process, read its summary."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

# The vector extensions that set XNNPACK's int8 speed: with VNNI (or Arm's dot product) an int8
# MobileNetV2 invoke() is several times faster than with AVX2 alone, so the ratios against
# invoke()-bound loops (the tutorial's, MediaPipe's) differ from one CPU to another.
VECTOR_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "asimddp", "i8mm")


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


def _process_cpu_s(pid: int) -> float:
    """CPU time (user + system, all threads) a running process has used so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def steady_run(command: list[str]) -> dict:
    """Run `command` to its end and measure it from its first line of output on, start-up left
    out: {"steady_cpu_s", "steady_wall_s", "last": its last stdout line}. For loops that print a
    line once their first frame is done."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first_cpu = first_time = None
    last = b""
    for line in process.stdout:
        if first_time is None:
            first_time, first_cpu = time.perf_counter(), _process_cpu_s(process.pid)
        last = line
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    ended = time.perf_counter()
    if os.waitstatus_to_exitcode(status) != 0 or first_time is None:
        raise RuntimeError(f"{command[:3]} failed: {stderr.decode()[-2000:]}")
    return {"steady_cpu_s": usage.ru_utime + usage.ru_stime - first_cpu,
            "steady_wall_s": ended - first_time, "last": last}


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


def cpu_note() -> str:
    """The CPU's model name and which of VECTOR_FLAGS it has (from /proc/cpuinfo on Linux)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or platform.machine()

    def field(*names: str) -> str:
        return next((line.split(":", 1)[1].strip() for line in lines
                     if line.split(":")[0].strip() in names), "")

    flags = set(field("flags", "Features").split())
    shown = ", ".join(flag for flag in VECTOR_FLAGS if flag in flags) or "none of " + "/".join(VECTOR_FLAGS)
    return f"{field('model name', 'Model') or platform.machine()} ({shown})"


def machine_note() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{os.cpu_count()} CPUs, {cpu_note()}, load average {load:.2f} when it ended "
            "(a shared machine: other jobs were running too)")
