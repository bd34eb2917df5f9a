"""What `--collect` costs `tfedge run`: the same model on the same video, with and without it, side by side.

Both runs go through the real `tfedge run` code (`tfedge.main.main(["run", ...])`, headless, JSON
lines to a stream that keeps only the last line), alternated in ONE process, so module imports and
interpreter start-up are paid once before the first timed run and neither side carries them:
CPU time is this process's (`time.process_time`: every thread: decoding, inference, JSON lines and
the collector's writer) over the run, divided by the frames classified. Printed per model: CPU ms per
frame without and with `--collect` (median of the repeats, and each run), their ratio, FPS the same
way, the collector's `emit` (on the inference thread) median ms per frame, how many candidates the
writer thread took, and the machine's load average before and after. Another job on the machine
moves FPS far more than CPU per frame, so the CPU figure is the one to read.

Models: MobileNetV2 1.0 224 int8 (`benchmarks/edge_models.py`, random weights: scores near uniform,
so nearly every frame is a low-margin candidate, the collector's worst case) on the 640x480 panning
video, and, with `--small MODEL VIDEO`, a small model (the flywheel's 0.2 ms `small_cnn`).

    .venv/bin/python benchmarks/collect_cost.py [--repeats 5] [--small MODEL.tflite VIDEO.mp4]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


class LastLine(io.TextIOBase):
    """A text stream that keeps only the last complete line written to it."""

    def __init__(self) -> None:
        self.last, self.partial = "", ""

    def write(self, text: str) -> int:
        lines = (self.partial + text).split("\n")
        self.partial = lines.pop()
        if lines:
            self.last = lines[-1]
        return len(text)


def one_run(model: Path, video: Path, extra: list[str]) -> tuple[dict, float]:
    """(summary, CPU seconds of this process over the run) for one real `tfedge run`."""
    from tfedge.main import main

    stream = LastLine()
    began = time.process_time()
    with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(io.StringIO()):
        code = main(["run", str(model), "--source", str(video), "--headless", *extra])
    seconds = time.process_time() - began
    if code != 0:
        raise SystemExit(f"tfedge run failed with exit code {code}")
    return json.loads(stream.last)["summary"], seconds


def compare(name: str, model: Path, video: Path, repeats: int, collect_options: list[str]) -> dict:
    work = Path(tempfile.mkdtemp(prefix="tfedge-collect-cost-"))
    load_before = os.getloadavg()[0]
    one_run(model, video, [])  # warm-up: imports, file cache
    cpu = {"plain": [], "collect": []}
    fps = {"plain": [], "collect": []}
    emit, writer_took, own, frames = [], [], [], 0
    for repeat in range(repeats):
        for side in ("plain", "collect") if repeat % 2 == 0 else ("collect", "plain"):
            folder = work / f"collect_{repeat}"
            extra = ["--collect", str(folder), *collect_options] if side == "collect" else []
            summary, seconds = one_run(model, video, extra)
            frames = summary["frames"]
            cpu[side].append(1000 * seconds / frames)
            fps[side].append(summary["fps"])
            if side == "collect":
                facts = summary["collect"]
                emit.append(facts["emit_p50_ms"])
                writer_took.append(facts["candidates"] - facts["skipped_early"])
                own.append((facts["emit_total_ms"] + facts["writer_cpu_ms"]) / frames)
                shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    cpu_ratio = np.median(cpu["collect"]) / np.median(cpu["plain"])
    fps_ratio = np.median(fps["collect"]) / np.median(fps["plain"])
    print(f"{name}: {repeats} alternated runs each side, {frames} frames per run; collect options: "
          f"{' '.join(collect_options) or '(defaults)'}; load average {load_before:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after, {os.cpu_count()} CPUs")
    print(f"  CPU ms per frame: without {np.median(cpu['plain']):.4f} (runs "
          f"{np.round(cpu['plain'], 4).tolist()}), with --collect {np.median(cpu['collect']):.4f} (runs "
          f"{np.round(cpu['collect'], 4).tolist()}): {cpu_ratio:.3f}x ({100 * (cpu_ratio - 1):+.1f}%)")
    print(f"  FPS: without {np.median(fps['plain']):.1f} (runs {fps['plain']}), with "
          f"{np.median(fps['collect']):.1f} (runs {fps['collect']}): {fps_ratio:.3f}x "
          f"({100 * (fps_ratio - 1):+.1f}%; goal: no worse than -2%)")
    print(f"  emit on the inference thread: median {np.median(emit):.4f} ms per frame (goal < 2 ms); "
          f"candidates queued for the writer per run (some dropped there): {writer_took}")
    print(f"  the collector's own time (all emits + the writer thread's CPU, over the frames): median "
          f"{np.median(own):.5f} ms per frame (runs {np.round(own, 5).tolist()}): "
          f"{100 * np.median(own) / np.median(cpu['plain']):.2f}% of the CPU per frame without --collect")
    return {"cpu_ratio": cpu_ratio, "fps_ratio": fps_ratio}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--video-frames", type=int, default=1200,
                        help="frames of the 640x480 video for MobileNetV2 (default 1200: 40 s of camera)")
    parser.add_argument("--small", nargs=2, type=Path, metavar=("MODEL", "VIDEO"), default=None,
                        help="also a small model on its video (the flywheel's small_cnn and clean.mp4)")
    parser.add_argument("--no-mobilenet", action="store_true", help="only the --small model")
    parser.add_argument("--collect-options", default="", help="collect options for the --collect side")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    options = args.collect_options.split()
    if not args.no_mobilenet:
        from edge_models import mobilenet_v2_int8, textured_video

        compare("MobileNetV2 1.0 224 int8 (random weights), 640x480 video", mobilenet_v2_int8(),
                textured_video(640, 480, args.video_frames), args.repeats, options)
    if args.small:
        compare(f"{args.small[0].name} ({args.small[1].name})", *args.small, args.repeats, options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
