"""MediaPipe Tasks ImageClassifier in VIDEO mode on a video file: run by the mediapipe side venv.

The loop MediaPipe's own image classification guide shows for video: read a frame with OpenCV,
convert BGR to RGB, wrap it in `mp.Image`, `classify_for_video(image, timestamp_ms)`, draw the
top category with `cv2.putText`. MediaPipe brings its own OpenCV (contrib), so it runs in its own
venv (tests/side_venv.py, `side_python("mediapipe")`).

    PYTHON_OF_MEDIAPIPE_VENV benchmarks/mediapipe_loop.py MODEL.tflite VIDEO.mp4

Prints one JSON line: {"fps", "frames"} (fps from the first to the last classified frame).
"""

from __future__ import annotations

import argparse
import json

import cv2
import mediapipe as mp
from loop_timing import FrameClock
from mediapipe.tasks import python as mp_tasks
from mediapipe.tasks.python import vision


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("video")
    args = parser.parse_args()
    options = vision.ImageClassifierOptions(
        base_options=mp_tasks.BaseOptions(model_asset_path=args.model),
        running_mode=vision.RunningMode.VIDEO, max_results=3)
    classifier = vision.ImageClassifier.create_from_options(options)
    clock = FrameClock(args.video)
    for frame in clock:
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
        result = classifier.classify_for_video(image, int(clock.frames * 1000 / clock.file_fps))
        top = result.classifications[0].categories[0]
        cv2.putText(frame, f"{top.category_name or top.index} {top.score:.2f}", (10, 30),
                    cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 0, 0), 2)
        clock.tick()
    classifier.close()
    print(json.dumps(clock.result()))


if __name__ == "__main__":
    main()
