"""`tfedge run` against the loops users really run, side by side: FPS, CPU per frame, peak RSS.

On one model (MobileNetV2 1.0 224 int8, uint8 in and out, plain TFLiteConverter output with
labels.txt beside it) and one real MP4 (900 frames, 1280x720 and 640x480), each in its own
process, one interpreter thread:
  raw        bare `invoke()` calls on one input: the physical limit (tutorial_loop.py --invoke-only)
  tutorial   the loop TFLite tutorials publish: read, cvtColor, cv2.resize, invoke, putText
             (tutorial_loop.py, with where it comes from)
  mediapipe  MediaPipe Tasks ImageClassifier in VIDEO mode, in its own venv (mediapipe_loop.py)
  tfedge     `tfedge run --headless --threads 1`
  +serve+mqtt  the same with `--serve` and `--mqtt` on (a real mosquitto; no viewer connected)
Then a live source: the 1280x720 video read at its 30 FPS (`--realtime`, as a camera delivers
frames) with a model slower than that (ResNet152 float32 at 224x224), `tfedge run`'s CPU per second
against decoding alone (the same frames read at 30 FPS and nothing else), start-up left out.
For tfedge the shortfall against the raw rate is split in two: how much slower its `invoke()`
calls are in the run than bare (the capture thread decoding on the other core shares the cache
and memory), and the share of the run the classifier spends in `invoke()` (1.0: it never waits
for a frame). FPS is what each loop measures itself (first to last classified frame); CPU per frame is the
process's CPU time (user + system, start-up included) over the frames it classified (and, from
one-frame runs of both, the same with start-up left out); peak RSS is
its high-water mark. The loops run in turn, in alternating order, for --rounds rounds; ratios are
taken within a round and their medians printed. The machine's load is printed with them.

    .venv/bin/python benchmarks/edge_pipeline.py [--rounds 3] [--threads 1] [--live yes|no|only]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from edge_common import cpu_note, measured_run, steady_run, tfedge_run
from edge_models import mobilenet_v2_int8, plain_model, resnet_float32, textured_video

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from side_venv import side_python  # noqa: E402

FRAMES = 900


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_broker(folder: Path) -> tuple[subprocess.Popen, int]:
    """A real mosquitto on a free loopback port (for --mqtt)."""
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = free_port()
    config = folder / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n"
                      + ("user root\n" if os.geteuid() == 0 else ""))
    broker = subprocess.Popen([mosquitto, "-c", str(config)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return broker, port
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("mosquitto did not start")


def child(command: list[str]) -> dict:
    last, _, measures = measured_run(command)
    return json.loads(last) | measures


def loops(model: Path, video: Path, threads: str, broker_port: int) -> dict:
    """name -> function running that loop once, returning {"fps", "frames", "cpu_s", ...}."""
    labels = model.with_name("labels.txt")
    tutorial = [sys.executable, str(HERE / "tutorial_loop.py"), str(model), str(labels), str(video),
                "--threads", threads]
    return {
        "raw": lambda: child([*tutorial, "--invoke-only", str(FRAMES)]),
        "tutorial": lambda: child(tutorial),
        "mediapipe": lambda: child([str(side_python("mediapipe")), str(HERE / "mediapipe_loop.py"),
                                    str(model), str(video)]),
        "tfedge": lambda: tfedge_run(model, video, "--threads", threads),
        "tutorial start": lambda: child([*tutorial, "--max-frames", "1"]),
        "tfedge start": lambda: tfedge_run(model, video, "--threads", threads, "--max-frames", "1"),
        "+serve+mqtt": lambda: tfedge_run(model, video, "--threads", threads, "--serve",
                                          str(free_port()), "--mqtt",
                                          f"mqtt://127.0.0.1:{broker_port}/tfedge-bench"),
    }


def ratio_line(name: str, values: list[float], goal: str) -> str:
    shown = ", ".join(f"{value:.3f}" for value in values)
    return f"  {name:<44} {statistics.median(values):6.3f}  (rounds: {shown})  goal {goal}"


def measure_video(model: Path, video: Path, size: tuple[int, int], threads: str, rounds: int,
                  broker_port: int) -> None:
    runs = loops(model, video, threads, broker_port)
    results: dict[str, list[dict]] = {name: [] for name in runs}
    for round_number in range(rounds):
        order = list(runs) if round_number % 2 == 0 else list(reversed(runs))
        for name in order:
            results[name].append(runs[name]())
        line = ", ".join(f"{name} {results[name][-1]['fps']:.1f}" for name in runs
                         if not name.endswith(" start"))
        print(f"round {round_number + 1} (FPS; load {os.getloadavg()[0]:.2f}): {line}", flush=True)

    def per_frame_ms(result: dict) -> float:
        return 1000.0 * result["cpu_s"] / result["frames"]

    print(f"{'loop':<14}{'FPS':>9}{'CPU ms/frame':>14}{'peak RSS MB':>13}   (medians)")
    for name, measured in results.items():
        if name.endswith(" start"):
            print(f"{name:<14}{'':>9}{statistics.median(r['cpu_s'] for r in measured) * 1000:11.0f} ms"
                  "   (start-up: a run of one frame)")
            continue
        cpu = "" if name == "raw" else f"{statistics.median(per_frame_ms(r) for r in measured):14.2f}"
        print(f"{name:<14}{statistics.median(r['fps'] for r in measured):9.1f}{cpu:>14}"
              f"{statistics.median(r['peak_rss_mb'] for r in measured):13.1f}")

    def ratios(top: str, bottom: str, key) -> list[float]:
        return [key(a) / key(b) for a, b in zip(results[top], results[bottom])]

    def streaming_ms(name: str) -> list[float]:
        """CPU per frame with start-up left out: (whole run - a one-frame run) / (frames - 1)."""
        return [1000.0 * (whole["cpu_s"] - start["cpu_s"]) / (whole["frames"] - 1)
                for whole, start in zip(results[name], results[f"{name} start"])]

    def fps(result):
        return result["fps"]

    def rss(result):
        return result["peak_rss_mb"]

    print("ratios, within each round:")
    # the issue sets these two at 1280x720 only (at 640x480 the raw invoke rate itself is about
    # 1.3x the tutorial's with one interpreter thread here)
    at_720p = size == (1280, 720)
    print(ratio_line("tfedge FPS / tutorial loop FPS", ratios("tfedge", "tutorial", fps),
                     ">= 1.4" if at_720p else "(>= 1.4 at 1280x720 only)"))
    print(ratio_line("tfedge FPS / MediaPipe FPS", ratios("tfedge", "mediapipe", fps),
                     ">= 1.8" if at_720p else "(>= 1.8 at 1280x720 only)"))
    print(ratio_line("  raw invoke rate / tutorial loop FPS", ratios("raw", "tutorial", fps),
                     "(the most any loop gains over the tutorial's on this machine)"))
    print(ratio_line("tfedge FPS / raw invoke rate", ratios("tfedge", "raw", fps), ">= 0.95"))
    print(ratio_line("  its invoke() in the run / bare invoke()",
                     [t["mean_inference_ms"] * r["fps"] / 1000
                      for t, r in zip(results["tfedge"], results["raw"])],
                     "(1.0: the capture thread slows no invoke)"))
    print(ratio_line("  FPS x its invoke() time (classifier busy)",
                     [t["fps"] * t["mean_inference_ms"] / 1000 for t in results["tfedge"]],
                     "(1.0: the classifier never waits)"))
    print(ratio_line("tfedge CPU per frame / tutorial loop's", ratios("tfedge", "tutorial", per_frame_ms),
                     "<= 1.0"))
    print(ratio_line("the same, start-up left out (one-frame runs)",
                     [a / b for a, b in zip(streaming_ms("tfedge"), streaming_ms("tutorial"))],
                     "(start-up: see above)"))
    print(ratio_line("tfedge peak RSS / tutorial loop's", ratios("tfedge", "tutorial", rss), "<= 1.0"))
    print(ratio_line("tfedge CPU per frame / MediaPipe's", ratios("tfedge", "mediapipe", per_frame_ms),
                     "(MediaPipe picks its own threads)"))
    print(ratio_line("+serve+mqtt FPS / tfedge FPS", ratios("+serve+mqtt", "tfedge", fps), ">= 0.97"))
    print(ratio_line("+serve+mqtt CPU per frame / tfedge's", ratios("+serve+mqtt", "tfedge", per_frame_ms),
                     "<= 1.03"))
    print(ratio_line("+serve+mqtt peak RSS / tfedge's", ratios("+serve+mqtt", "tfedge", rss), "<= 1.03"))
    print(ratio_line("+serve+mqtt peak RSS / tutorial loop's", ratios("+serve+mqtt", "tutorial", rss),
                     "(<= 1.0 as plain tfedge's)"))


def measure_live(model: Path, video: Path, threads: str, rounds: int) -> None:
    """A 30 FPS live source (`--realtime`) and a model slower than it: CPU per second of capture
    of `tfedge run` against decoding alone (the same frames read at 30 FPS, nothing else), both
    from their first result on (start-up left out). The model's own CPU (frames it classified
    times its CPU per `invoke()`, measured bare in the same round) is then taken out too, since
    no loop can classify without it: estimated two ways, from bare `invoke()` calls in another
    process, and from tfedge's own invoke times in the same run (wall time, one thread: equal to
    CPU time only while nothing else wants that core)."""
    labels = model.with_name("labels.txt")
    tutorial = [sys.executable, str(HERE / "tutorial_loop.py"), str(model), str(labels), str(video),
                "--threads", threads]
    command = [sys.executable, "-m", "tfedge", "run", str(model), "--source", str(video), "--headless",
               "--realtime", "--threads", threads]
    rows = []
    for round_number in range(rounds):
        decoding = steady_run([sys.executable, str(HERE / "tutorial_loop.py"), "-", "-", str(video),
                               "--decode-only"])
        tfedge = steady_run(command)
        summary = json.loads(tfedge["last"])["summary"]
        invoke = child([*tutorial, "--invoke-only", "20"])
        decode_rate = decoding["steady_cpu_s"] / decoding["steady_wall_s"]
        tfedge_rate = tfedge["steady_cpu_s"] / tfedge["steady_wall_s"]
        model_rate = summary["fps"] * invoke["cpu_ms_per_invoke"] / 1000
        own_rate = summary["fps"] * summary["mean_inference_ms"] / 1000
        rows.append((decode_rate, tfedge_rate, model_rate, own_rate))
        print(f"round {round_number + 1} (load {os.getloadavg()[0]:.2f}): decoding alone "
              f"{1000 * decode_rate:.1f} ms CPU/s; tfedge {1000 * tfedge_rate:.1f} ms CPU/s classifying "
              f"{summary['fps']:.1f} FPS ({summary['dropped_frames']} frames dropped); its model "
              f"{invoke['cpu_ms_per_invoke']:.1f} ms CPU per invoke", flush=True)
    print(ratio_line("tfedge CPU per s / decoding alone's", [t / d for d, t, *_ in rows],
                     "(the model's CPU included)"))
    print(ratio_line("tfedge CPU per s less the model's / decoding's", [(t - m) / d for d, t, m, *_ in rows],
                     "<= 1.1"))
    print(ratio_line("the same, the model's CPU from tfedge's invokes", [(t - o) / d for d, t, _, o in rows],
                     "(<= 1.1)"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians are used")
    parser.add_argument("--sizes", nargs="+", default=["1280x720", "640x480"])
    parser.add_argument("--live", choices=["yes", "no", "only"], default="yes",
                        help="also (or only) the 30 FPS live source with a slow model")
    args = parser.parse_args()
    model = plain_model(mobilenet_v2_int8(1.0, 224))
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        broker, port = start_broker(Path(folder))
        try:
            for size in args.sizes if args.live != "only" else []:
                width, height = (int(side) for side in size.split("x"))
                video = textured_video(width, height, frames=FRAMES)
                print(f"\n== {model.parent.name}/{model.name}, {video.name} ({FRAMES} frames "
                      f"{width}x{height}), threads {args.threads}", flush=True)
                measure_video(model, video, (width, height), args.threads, args.rounds, port)
            if args.live != "no":
                slow, video = plain_model(resnet_float32(152, 224)), textured_video(1280, 720, frames=300)
                print(f"\n== live: {slow.parent.name}/{slow.name} (ResNet152 float32, 224x224) on "
                      f"{video.name} (300 frames 1280x720) read as a 30 FPS camera (--realtime), "
                      f"threads {args.threads}",
                      flush=True)
                measure_live(slow, video, args.threads, args.rounds)
        finally:
            broker.terminate()
            broker.wait(10)
    load_after = os.getloadavg()
    print(f"\nmachine: {os.cpu_count()} CPUs, {cpu_note()}, load average (1 min) {load_before[0]:.2f} "
          f"before and {load_after[0]:.2f} after; a shared machine, other jobs were running during these "
          "runs, so figures are medians of alternating rounds")


if __name__ == "__main__":
    main()
