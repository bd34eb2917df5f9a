"""Pipeline efficiency and `tfedge run` against the usual tutorial loop, measured side by side.

1. Efficiency: `tfedge run` FPS on a decoded video / the raw invoke rate of the same model and
   thread count (bare interpreter.invoke() in a loop, measured before and after the run).
   Goal >= 0.95.
2. Tutorial loop: read a frame, preprocess, invoke, draw, one thread, in sequence, on the same
   video and model, against `tfedge run` (capture and preprocessing in their own thread).
   A 1280x720 video and MobileNetV2 1.0 224 int8: decoding plus preprocessing and inference
   cost about the same; both costs are measured and printed. Goal >= 1.3x.
Runs alternate (raw/run, tutorial/run) for --rounds rounds; the medians of the ratios are given.

    .venv/bin/python benchmarks/edge_pipeline.py
"""

from __future__ import annotations

import argparse
import statistics
import time

import cv2
import numpy as np
from edge_common import machine_note, tfedge_run
from edge_models import mobilenet_v2_int8, textured_video

from tfedge.edge.bench import invoke_times_ms
from tfedge.edge.classify import Classifier
from tfedge.edge.preprocess import preprocess


def raw_invoke_rate(model, threads: int, runs: int = 100) -> float:
    classifier = Classifier(model, num_threads=threads)
    return 1000.0 / float(np.mean(invoke_times_ms(classifier, runs)))


def decode_ms(video) -> float:
    capture = cv2.VideoCapture(str(video))
    frames, start = 0, time.perf_counter()
    while capture.read()[0]:
        frames += 1
    capture.release()
    return (time.perf_counter() - start) * 1000.0 / frames


def tutorial_loop_fps(model, video, threads: int) -> float:
    """The loop most tutorials show: everything in one thread, one step after the other."""
    classifier = Classifier(model, num_threads=threads)
    interpreter = classifier.interpreter
    capture = cv2.VideoCapture(str(video))
    frames, start = 0, None
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if start is None:
            start = time.perf_counter()
        tensor = preprocess(frame, classifier.card, classifier.input_detail)
        interpreter.set_tensor(classifier.input_detail["index"], tensor)
        interpreter.invoke()
        scores = interpreter.get_tensor(classifier.output_detail["index"])[0]
        best = int(np.argmax(scores))
        canvas = frame.copy()
        cv2.putText(canvas, f"{classifier.label_of(best)} {scores[best]}", (8, 28), cv2.FONT_HERSHEY_SIMPLEX,
                    0.8, (255, 255, 255), 2, cv2.LINE_AA)
        frames += 1
    capture.release()
    return (frames - 1) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians are used")
    args = parser.parse_args()
    threads = str(args.threads)
    model = mobilenet_v2_int8(1.0, 224)

    print("== 1. pipeline efficiency: MobileNetV2 1.0 224 int8 on a 640x480 MP4 (300 frames), threads",
          threads)
    video = textured_video(640, 480, frames=300)
    ratios = []
    for round_number in range(1, args.rounds + 1):
        raw = raw_invoke_rate(model, args.threads, runs=300)
        run = tfedge_run(model, video, "--threads", threads)
        ratios.append(run["fps"] / raw)
        print(f"round {round_number}: raw invoke rate {raw:.2f} /s, tfedge run {run['fps']:.2f} FPS "
              f"over {run['frames']} frames (p50 inference {run['p50_inference_ms']} ms): {ratios[-1]:.3f}")
    print(f"EFFICIENCY tfedge run FPS / raw invoke rate = {statistics.median(ratios):.3f} median of "
          f"{args.rounds} rounds  (goal >= 0.95)")

    print("\n== 2. against the tutorial loop: the same model on a 1280x720 MP4 (300 frames), threads",
          threads)
    big_video = textured_video(1280, 720, frames=300)
    decode = decode_ms(big_video)
    classifier = Classifier(model, num_threads=args.threads)
    frame = cv2.VideoCapture(str(big_video)).read()[1]
    start = time.perf_counter()
    for _ in range(20):
        classifier.prepare(frame)
    prepare = (time.perf_counter() - start) * 1000.0 / 20
    invoke = float(np.mean(invoke_times_ms(classifier, 100)))
    print(f"per frame: decode {decode:.2f} ms + preprocess {prepare:.2f} ms = {decode + prepare:.2f} ms; "
          f"invoke {invoke:.2f} ms")
    speedups = []
    for round_number in range(1, args.rounds + 1):
        tutorial = tutorial_loop_fps(model, big_video, args.threads)
        run = tfedge_run(model, big_video, "--threads", threads)
        speedups.append(run["fps"] / tutorial)
        print(f"round {round_number}: tutorial loop {tutorial:.2f} FPS, tfedge run {run['fps']:.2f} FPS "
              f"over {run['frames']} frames: {speedups[-1]:.2f}x")
    print(f"SPEED-UP tfedge run / tutorial loop = {statistics.median(speedups):.2f}x median of "
          f"{args.rounds} rounds  (goal >= 1.3x)")
    print("\n" + machine_note())


if __name__ == "__main__":
    main()
