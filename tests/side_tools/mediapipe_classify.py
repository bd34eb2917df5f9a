"""Classify images with MediaPipe Tasks' ImageClassifier: run by the mediapipe side venv's python.

    python mediapipe_classify.py MODEL.tflite < paths.json > results.json

stdin: a JSON list of image paths. stdout: {"ok": true, "results": [[[index, name, score], ...]
per image, every category, sorted by index]} or {"ok": false, "error": "..."} when the model does
not load. Images are decoded with OpenCV and given as SRGB, the way a MediaPipe user feeds frames.
"""

import json
import sys


def main(model_path: str) -> int:
    import cv2
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    paths = json.load(sys.stdin)
    try:
        options = vision.ImageClassifierOptions(base_options=BaseOptions(model_asset_path=model_path),
                                                max_results=-1)
        classifier = vision.ImageClassifier.create_from_options(options)
    except Exception as error:  # noqa: BLE001 - MediaPipe raises ValueError/RuntimeError; we report it
        print(json.dumps({"ok": False, "error": str(error).strip().splitlines()[0]}))
        return 0
    results = []
    for path in paths:
        rgb = cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
        categories = classifier.classify(image).classifications[0].categories
        results.append(sorted([c.index, c.category_name, c.score] for c in categories))
    print(json.dumps({"ok": True, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
