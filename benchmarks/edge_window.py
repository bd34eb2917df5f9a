"""`tfedge run` with its window open (OpenCV's GUI build on an Xvfb screen) against --headless.

Alternating rounds on the same model and video, every frame as fast as possible: FPS with the
window / FPS headless (goal >= 0.97), the process's CPU time per frame both ways, and the window
process's own CPU (it draws and shows; `window_cpu_s` in the summary). Needs Debian's xvfb.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds; medians are used")
    args = parser.parse_args()
    model = mobilenet_v2_int8(1.0, 224)
    video = textured_video(640, 480, frames=1200)
    short_video = textured_video(640, 480, frames=300)
    realtime = []
    extra = ("--threads", str(args.threads))
    print(f"== tfedge run, MobileNetV2 1.0 224 int8 on a 640x480 MP4 (1200 frames), threads {args.threads}: "
          "window (Xvfb) vs --headless")
    server, display = start_xvfb()
    ratios, headless_cpu, window_cpu, drawing_cpu, shown = [], [], [], [], []
    try:
        for round_number in range(1, args.rounds + 1):
            headless = tfedge_run(model, video, *extra)
            window = tfedge_run(model, video, *extra, display=display)
            ratios.append(window["fps"] / headless["fps"])
            headless_cpu.append(1000 * headless["cpu_s"] / headless["frames"])
            window_cpu.append(1000 * window["cpu_s"] / window["frames"])
            drawing_cpu.append(1000 * window["window_cpu_s"] / max(1, window["window_frames"]))
            shown.append(window["window_frames"] / window["frames"])
            print(f"round {round_number}: headless {headless['fps']:.2f} FPS "
                  f"({headless_cpu[-1]:.1f} ms CPU/frame), "
                  f"window {window['fps']:.2f} FPS ({window_cpu[-1]:.1f} ms CPU/frame; window process "
                  f"{window['window_cpu_s']:.2f} s CPU for {window['window_frames']} of {window['frames']} "
                  f"frames shown): {ratios[-1]:.3f}")
        print("== the same at the video's own 30 FPS (--realtime, as a camera delivers), 300 frames")
        for round_number in range(1, 4):
            headless = tfedge_run(model, short_video, *extra, "--realtime")
            window = tfedge_run(model, short_video, *extra, "--realtime", display=display)
            realtime.append((window["fps"] / headless["fps"], window["window_cpu_s"], window["window_frames"],
                             window["cpu_s"] - headless["cpu_s"], window["frames"]))
            print(f"round {round_number}: headless {headless['fps']:.2f} FPS, window {window['fps']:.2f} FPS "
                  f"({window['window_frames']} of {window['frames']} frames shown, window process "
                  f"{window['window_cpu_s']:.2f} s CPU; whole run {headless['cpu_s']:.2f} s CPU headless, "
                  f"{window['cpu_s']:.2f} s with the window): {realtime[-1][0]:.3f}")
    finally:
        server.terminate()
        server.wait()
    ratio, cpu, shown_frames, extra_cpu, _ = (statistics.median(column) for column in zip(*realtime))
    print(f"REALTIME FPS window / headless = {ratio:.3f}; the window process "
          f"{1000 * cpu / shown_frames:.1f} ms CPU per frame shown ({cpu / 10:.1%} of one core over the 10 s "
          f"video); whole run +{extra_cpu:.2f} s CPU with the window")
    print(f"FPS window / headless = {statistics.median(ratios):.3f} median of {args.rounds} rounds  "
          "(goal >= 0.97)")
    print(f"CPU per classified frame: headless {statistics.median(headless_cpu):.1f} ms, with the window "
          f"{statistics.median(window_cpu):.1f} ms (whole process tree); the window process "
          f"{statistics.median(drawing_cpu):.1f} ms per frame it showed; it showed "
          f"{statistics.median(shown):.0%} of the frames")
    print("\n" + machine_note())


if __name__ == "__main__":
    main()
