"""The baseline: the camera loop that TFLite tutorials publish, on a video file, one thread.

Written for these benchmarks after the loops in
  - google-coral/examples-camera, opencv/detect.py (the pycoral version): `cap.read()`,
    `cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)`, `cv2.resize(rgb, inference_size)` (OpenCV's default
    interpolation), copy into the input tensor, `invoke()`, draw with `cv2.putText`;
  - tensorflow/examples, lite/examples/image_classification/raspberry_pi/classify.py: the same
    read / cvtColor / classify / putText loop, its FPS measured by the loop itself.
Everything in one thread, one step after the other, no threads of its own; the interpreter is
the same LiteRT `Interpreter(model_path=..., num_threads=...)` a user installs. No tfedge code.

    python benchmarks/tutorial_loop.py MODEL.tflite LABELS.txt VIDEO.mp4 --threads 1
    python benchmarks/tutorial_loop.py MODEL.tflite LABELS.txt VIDEO.mp4 --invoke-only 300
    python benchmarks/tutorial_loop.py - - VIDEO.mp4 --decode-only

Prints one JSON line: {"fps", "frames"} (fps from the first to the last classified frame).
`--invoke-only N` measures the raw rate instead: N bare `invoke()` calls on one input, the
physical limit of any loop around this model and thread count (and their CPU per call).
`--decode-only` only reads the frames, paced at the video's frame rate: what decoding a 30 FPS
camera's frames costs, with no model (MODEL and LABELS are then not read).
"""

from __future__ import annotations

import argparse
import json
import time

import cv2
import numpy as np
from loop_timing import FrameClock

try:
    from ai_edge_litert.interpreter import Interpreter
except ImportError:  # older installs
    from tflite_runtime.interpreter import Interpreter


def make_interpreter(model: str, threads: int) -> Interpreter:
    interpreter = Interpreter(model_path=model, num_threads=threads)
    interpreter.allocate_tensors()
    return interpreter


def tutorial_loop(interpreter: Interpreter, labels: list[str], video: str, max_frames: int = 0) -> dict:
    input_detail = interpreter.get_input_details()[0]
    output_index = interpreter.get_output_details()[0]["index"]
    _, height, width, _ = input_detail["shape"]
    clock = FrameClock(video)
    for frame in clock:  # cap.read() until the video ends
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        rgb = cv2.resize(rgb, (width, height))
        interpreter.set_tensor(input_detail["index"], np.expand_dims(rgb, axis=0))
        interpreter.invoke()
        scores = interpreter.get_tensor(output_index)[0]
        best = int(np.argmax(scores))
        cv2.putText(frame, f"{labels[best]} {int(scores[best]) * 100 // 255}%", (10, 30),
                    cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 0, 0), 2)
        clock.tick()
        if clock.frames == max_frames:
            break
    return clock.result() if clock.frames > 1 else {"fps": 0.0, "frames": clock.frames}


def invoke_only(interpreter: Interpreter, runs: int) -> dict:
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(detail["index"], np.full(detail["shape"], 128, detail["dtype"]))
    for _ in range(5):
        interpreter.invoke()
    start, start_cpu = time.perf_counter(), time.process_time()
    for _ in range(runs):
        interpreter.invoke()
    return {"fps": round(runs / (time.perf_counter() - start), 2), "frames": runs,
            "cpu_ms_per_invoke": round(1000 * (time.process_time() - start_cpu) / runs, 3)}


def decode_only(video: str) -> None:
    """Decoding alone, as a camera delivers frames: read every frame at the file's frame rate and
    do nothing with it; a line per frame (so a parent can leave start-up out), then a summary."""
    clock = FrameClock(video)
    interval = 1.0 / clock.file_fps
    start = time.perf_counter()
    for _frame in clock:
        clock.tick()
        print(clock.frames, flush=True)
        wait = start + clock.frames * interval - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
    print(json.dumps(clock.result()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("labels")
    parser.add_argument("video")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--invoke-only", type=int, default=0, metavar="N")
    parser.add_argument("--max-frames", type=int, default=0, metavar="N",
                        help="stop after N frames (the benchmark's start-up run: 1)")
    parser.add_argument("--decode-only", action="store_true",
                        help="only read the video's frames, at its frame rate (no model)")
    args = parser.parse_args()
    if args.decode_only:
        decode_only(args.video)
        return
    interpreter = make_interpreter(args.model, args.threads)
    if args.invoke_only:
        print(json.dumps(invoke_only(interpreter, args.invoke_only)))
        return
    with open(args.labels, encoding="utf-8") as file:
        labels = [line.strip() for line in file]
    print(json.dumps(tutorial_loop(interpreter, labels, args.video, args.max_frames)))


if __name__ == "__main__":
    main()
