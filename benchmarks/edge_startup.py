"""Start-up: process start to first prediction, `tfedge run` against the same through full
TensorFlow's interpreter (import tensorflow, tf.lite.Interpreter, read a frame, preprocess,
invoke). Each is started 3 times in turn; medians are printed. Goal for tfedge: < 1 s.

    .venv/bin/python benchmarks/edge_startup.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from edge_common import machine_note
from edge_models import mobilenet_v2_int8, textured_video

FULL_TENSORFLOW = """
import sys, cv2, numpy as np
import tensorflow as tf
from tfedge.edge.card import read_embedded_card
from tfedge.edge.preprocess import preprocess
model = open(sys.argv[1], "rb").read()
interpreter = tf.lite.Interpreter(model_content=model)
interpreter.allocate_tensors()
detail = interpreter.get_input_details()[0]
ok, frame = cv2.VideoCapture(sys.argv[2]).read()
interpreter.set_tensor(detail["index"], preprocess(frame, read_embedded_card(model), detail))
interpreter.invoke()
scores = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0]
print('{"label": %d}' % int(np.argmax(scores)), flush=True)
"""


def seconds_to_first_line(command: list[str]) -> float:
    """Seconds from starting `command` to the first line on its stdout (a prediction)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    line = process.stdout.readline()
    elapsed = time.perf_counter() - start
    process.stdout.close()
    process.wait()
    if not line.startswith(b"{"):
        raise RuntimeError(f"{command[:4]} printed no prediction")
    return elapsed


def main() -> None:
    model = mobilenet_v2_int8(1.0, 224)
    video = textured_video(640, 480, frames=300)
    commands = {
        "tfedge run (LiteRT)": [sys.executable, "-m", "tfedge", "run", str(model), "--source", str(video),
                                "--headless", "--max-frames", "1"],
        "full TensorFlow tf.lite": [sys.executable, "-c", FULL_TENSORFLOW, str(model), str(video)],
    }
    times = {name: [] for name in commands}
    for _ in range(3):
        for name, command in commands.items():
            times[name].append(seconds_to_first_line(command))
    print("process start to first prediction, MobileNetV2 1.0 224 int8, 640x480 MP4 (3 runs each):")
    medians = {}
    for name, values in times.items():
        medians[name] = statistics.median(values)
        print(f"  {name:<26} median {medians[name]:.3f} s  ({', '.join(f'{v:.3f}' for v in values)})")
    ours, theirs = medians["tfedge run (LiteRT)"], medians["full TensorFlow tf.lite"]
    print(f"STARTUP tfedge run {ours:.3f} s (goal < 1 s); full TensorFlow {theirs:.3f} s; "
          f"ratio {theirs / ours:.1f}x faster")
    print(machine_note())


if __name__ == "__main__":
    main()
