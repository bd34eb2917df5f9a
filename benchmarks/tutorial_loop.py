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

Prints one JSON line: {"fps", "frames"} (fps from the first to the last classified frame).
`--invoke-only N` measures the raw rate instead: N bare `invoke()` calls on one input, the
physical limit of any loop around this model and thread count.
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


def tutorial_loop(interpreter: Interpreter, labels: list[str], video: str) -> dict:
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
    return clock.result()


def invoke_only(interpreter: Interpreter, runs: int) -> dict:
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(detail["index"], np.full(detail["shape"], 128, detail["dtype"]))
    for _ in range(5):
        interpreter.invoke()
    start = time.perf_counter()
    for _ in range(runs):
        interpreter.invoke()
    return {"fps": round(runs / (time.perf_counter() - start), 2), "frames": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("labels")
    parser.add_argument("video")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--invoke-only", type=int, default=0, metavar="N")
    args = parser.parse_args()
    interpreter = make_interpreter(args.model, args.threads)
    if args.invoke_only:
        print(json.dumps(invoke_only(interpreter, args.invoke_only)))
        return
    with open(args.labels, encoding="utf-8") as file:
        labels = [line.strip() for line in file]
    print(json.dumps(tutorial_loop(interpreter, labels, args.video)))


if __name__ == "__main__":
    main()
