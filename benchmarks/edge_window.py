"""`tfedge run` with its window open (OpenCV's GUI build on an Xvfb screen) against --headless.

Rounds on the same model and video (which of the two goes first alternates), every frame as fast
as possible: FPS with the window / FPS headless (goal >= 0.97), the CPU time per classified frame
of the whole process tree both ways, and the window's own cost: the window process's CPU
(`window_cpu_s` in the summary, less `window_start_cpu_s`, its start-up before the first frame)
per frame it showed and per second of the run (steadier than FPS on a loaded machine), and the
X server's CPU per frame shown. Then the same at the video's own 30 FPS (`--realtime`).
Needs Debian's xvfb; `make bench-window` runs it from a fresh clone.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from edge_common import machine_note, tfedge_run  # noqa: E402
from edge_models import mobilenet_v2_int8, textured_video  # noqa: E402


def start_xvfb() -> tuple[subprocess.Popen, str]:
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten",
                               "tcp"], pass_fds=(write,), stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as numbers:
        return server, ":" + numbers.readline().strip()


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a running process, from /proc (Linux, as Xvfb is)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pair(model, video, extra, server, display, window_first: bool) -> tuple[dict, dict]:
    """(headless, window) summaries of one round; the window's gains "x_cpu_s" (the X server's)."""
    runs = {}
    for name in ("window", "headless") if window_first else ("headless", "window"):
        before = process_cpu_s(server.pid)
        runs[name] = tfedge_run(model, video, *extra, display=display if name == "window" else None)
        runs[name]["x_cpu_s"] = process_cpu_s(server.pid) - before
    return runs["headless"], runs["window"]


def window_costs(window: dict) -> dict:
    """The window's CPU, start-up left out: ms per frame it showed, ms per second of the run, and the
    X server's ms per frame shown."""
    shown = max(1, window["window_frames"])
    running = window["window_cpu_s"] - window["window_start_cpu_s"]
    return {"start_s": window["window_start_cpu_s"], "per_shown_ms": 1000 * running / shown,
            "per_second_ms": 1000 * running / window["uptime_s"],
            "x_per_shown_ms": 1000 * window["x_cpu_s"] / shown,
            "shown_per_s": window["window_frames"] / window["uptime_s"]}


def describe(costs: dict) -> str:
    return (f"window process {costs['per_shown_ms']:.2f} ms CPU per frame shown, "
            f"{costs['per_second_ms']:.1f} ms CPU per second ({costs['shown_per_s']:.1f} shown/s; "
            f"start-up {costs['start_s']:.2f} s); X server {costs['x_per_shown_ms']:.2f} ms per frame shown")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5,
                        help="rounds as fast as the model goes; medians are used")
    parser.add_argument("--realtime-rounds", type=int, default=3, help="rounds at the video's 30 FPS")
    args = parser.parse_args()
    model = mobilenet_v2_int8(1.0, 224)
    video = textured_video(640, 480, frames=1200)
    short_video = textured_video(640, 480, frames=300)
    extra = ("--threads", str(args.threads))
    load_at_start = os.getloadavg()[0]
    print(f"== tfedge run, MobileNetV2 1.0 224 int8 on a 640x480 MP4 (1200 frames), threads {args.threads}: "
          f"window (Xvfb) vs --headless; load average {load_at_start:.2f} at the start")
    server, display = start_xvfb()
    ratios, headless_cpu, window_cpu, costs, realtime = [], [], [], [], []
    try:
        for round_number in range(1, args.rounds + 1):
            headless, window = pair(model, video, extra, server, display, window_first=round_number % 2 == 0)
            ratios.append(window["fps"] / headless["fps"])
            headless_cpu.append(1000 * headless["cpu_s"] / headless["frames"])
            window_cpu.append(1000 * window["cpu_s"] / window["frames"])
            costs.append(window_costs(window))
            print(f"round {round_number}: headless {headless['fps']:.1f} FPS ({headless_cpu[-1]:.2f} ms "
                  f"CPU per frame), window {window['fps']:.1f} FPS ({window_cpu[-1]:.2f} ms; "
                  f"{window['window_frames']} of {window['frames']} frames shown): {ratios[-1]:.3f}; "
                  f"{describe(costs[-1])}; "
                  f"load {os.getloadavg()[0]:.2f}")
        print("== the same at the video's own 30 FPS (--realtime, as a camera delivers), 300 frames")
        for round_number in range(1, args.realtime_rounds + 1):
            headless, window = pair(model, short_video, (*extra, "--realtime"), server, display,
                                    window_first=round_number % 2 == 0)
            realtime.append({"ratio": window["fps"] / headless["fps"],
                             "shown": window["window_frames"] / window["frames"],
                             "extra_cpu_s": window["cpu_s"] - headless["cpu_s"]} | window_costs(window))
            print(f"round {round_number}: headless {headless['fps']:.2f} FPS, window {window['fps']:.2f} FPS "
                  f"({window['window_frames']} of {window['frames']} frames shown); whole run "
                  f"{headless['cpu_s']:.2f} s CPU headless, {window['cpu_s']:.2f} s with the window: "
                  f"{realtime[-1]['ratio']:.3f}; {describe(realtime[-1])}")
    finally:
        server.terminate()
        server.wait()

    def median(rows: list[dict], key: str) -> float:
        return statistics.median(row[key] for row in rows)

    if realtime:
        print(f"REALTIME FPS window / headless = {median(realtime, 'ratio'):.3f} (goal >= 0.97); "
              f"{median(realtime, 'shown'):.0%} of the frames shown; the window process "
              f"{median(realtime, 'per_shown_ms'):.2f} ms CPU per frame shown, "
              f"{median(realtime, 'per_second_ms'):.1f} ms CPU per second; whole run "
              f"{median(realtime, 'extra_cpu_s'):+.2f} s CPU with the window "
              f"(its start-up {median(realtime, 'start_s'):.2f} s included)")
    print(f"FPS window / headless = {statistics.median(ratios):.3f} median of {args.rounds} rounds "
          f"({', '.join(f'{ratio:.3f}' for ratio in ratios)}; goal >= 0.97)")
    print(f"CPU per classified frame (whole process tree, start-up included): headless "
          f"{statistics.median(headless_cpu):.2f} ms, with the window {statistics.median(window_cpu):.2f} ms "
          f"({statistics.median(window_cpu) / statistics.median(headless_cpu):.3f}x)")
    print(f"the window process: {median(costs, 'per_shown_ms'):.2f} ms CPU per frame shown, "
          f"{median(costs, 'per_second_ms'):.1f} ms CPU per second of the run "
          f"({median(costs, 'shown_per_s'):.1f} frames shown a second), start-up "
          f"{median(costs, 'start_s'):.2f} s; the X server {median(costs, 'x_per_shown_ms'):.2f} "
          "ms per frame shown")
    print(f"\nload average {load_at_start:.2f} at the start; " + machine_note())


if __name__ == "__main__":
    main()
