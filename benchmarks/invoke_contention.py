"""How much slower a bare `invoke()` runs while the other core decodes video: the part of
`tfedge run`'s shortfall against the raw invoke rate that no change to its own loop removes.

One process times bare `invoke()` calls of MobileNetV2 1.0 224 int8 (one thread, as the raw rate of
benchmarks/edge_pipeline.py) while a second process, beside it, reads the 1280x720 MP4 at the pace
the classifier takes frames (one frame per bare invoke time, as tfedge's capture thread does):
  alone          nothing beside it
  decode         reading frames only (OpenCV, one FFmpeg thread, as `tfedge run --threads 1`)
  decode+tfedge  reading and preparing each frame as tfedge does (`Classifier.prepare`: fast area
                 resize to 224x224)
  decode+tutorial  reading, cvtColor and cv2.resize (the tutorial loop's preprocessing)
The kinds run in turn, in alternating order, for --rounds rounds; the ratios of each to `alone`
are taken within a round and their medians printed.

    .venv/bin/python benchmarks/invoke_contention.py [--rounds 3] [--invokes 600]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from edge_common import cpu_note
from edge_models import mobilenet_v2_int8, plain_model, textured_video

KINDS = ("decode", "decode+tfedge", "decode+tutorial")


def background(kind: str, model: str, video: str, interval_s: float) -> None:
    """Read `video` over and over at one frame per `interval_s`, preparing frames as `kind` says."""
    import cv2

    from tfedge.edge.classify import Classifier
    from tfedge.edge.threads import limit_opencv_threads

    limit_opencv_threads()
    classifier = Classifier(model, num_threads=1) if kind == "decode+tfedge" else None
    next_at = time.perf_counter()
    while True:
        capture = cv2.VideoCapture(video, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            if kind == "decode+tfedge":
                classifier.prepare(frame)
            elif kind == "decode+tutorial":
                cv2.resize(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), (224, 224))
            next_at += interval_s
            pause = next_at - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            else:
                next_at = time.perf_counter()
        capture.release()


def invoke_ms(interpreter, invokes: int) -> float:
    started = time.perf_counter()
    for _ in range(invokes):
        interpreter.invoke()
    return (time.perf_counter() - started) / invokes * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--invokes", type=int, default=600)
    parser.add_argument("--background", nargs=4, metavar=("KIND", "MODEL", "VIDEO", "INTERVAL_S"),
                        help=argparse.SUPPRESS)  # the second process
    args = parser.parse_args()
    if args.background:
        kind, model, video, interval = args.background
        background(kind, model, video, float(interval))
        return
    from tfedge.edge.interpreter import make_interpreter

    model, video = plain_model(mobilenet_v2_int8(1.0, 224)), textured_video(1280, 720, frames=900)
    interpreter, backend = make_interpreter(Path(model).read_bytes(), num_threads=1)
    for _ in range(50):
        interpreter.invoke()  # warm-up
    alone_ms = invoke_ms(interpreter, args.invokes)
    print(f"{model.parent.name}/{model.name} on {backend}, one thread; beside it: {video.name}, "
          f"one frame per {alone_ms:.2f} ms", flush=True)
    times: dict[str, list[float]] = {kind: [] for kind in ("alone", *KINDS)}
    for round_number in range(args.rounds):
        kinds = ("alone", *KINDS) if round_number % 2 == 0 else (*reversed(KINDS), "alone")
        for kind in kinds:
            helper = None
            if kind != "alone":
                helper = subprocess.Popen([sys.executable, __file__, "--background", kind, str(model),
                                           str(video), f"{alone_ms / 1000:.6f}"])
                time.sleep(1.5)  # started, imported, decoding
            times[kind].append(invoke_ms(interpreter, args.invokes))
            if helper is not None:
                helper.kill()
                helper.wait()
        print(f"round {round_number + 1} (ms per invoke; load {os.getloadavg()[0]:.2f}): "
              + ", ".join(f"{kind} {times[kind][-1]:.3f}" for kind in times), flush=True)
    for kind in KINDS:
        ratios = [beside / alone for beside, alone in zip(times[kind], times["alone"])]
        print(f"  invoke() beside {kind:16s} / alone  {statistics.median(ratios):.3f}  (rounds: "
              + ", ".join(f"{ratio:.3f}" for ratio in ratios) + ")")
    print(f"machine: {os.cpu_count()} CPUs, {cpu_note()}, "
          f"load average (1 min) {os.getloadavg()[0]:.2f} when it ended")


if __name__ == "__main__":
    main()
