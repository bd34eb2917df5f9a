"""Reduced-size JPEG decoding (`decode_image(path, at_least=...)`, cv2.IMREAD_REDUCED_COLOR_2/4/8)
against decoding every pixel, for JPEG files larger than the model's input.

Each test image is enlarged to a 1280x720 (or 1920x1080) frame, shifted half an image pixel off
the grid (as in resize_accuracy.py), and written as a JPEG (quality 90). The model's input is
then made twice: full decode + `to_pixels`, and reduced decode + `to_pixels`; both run through
the same int8 .tflite, trained on full-size pixels (so this is the worst case: a model trained
on other images than the ones reduced here). Prints both accuracies, their difference, the pixel
difference, and the CPU time per image of decode + preprocess each way (side by side, with the
load average). Models are those of resize_accuracy.py (cached in benchmarks/.cache/).

    .venv/bin/python benchmarks/reduced_decode.py [--per-class 500] [--frame 1280x720]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from resize_accuracy import as_720p, colour_folders, fashion_folders, trained_model

from tfedge.edge import preprocess
from tfedge.edge.classify import Classifier
from tfedge.edge.preprocess import decode_image, model_size, reduced_factor, to_input, to_pixels


def as_frame(image: np.ndarray, width: int, height: int) -> np.ndarray:
    if (width, height) == (1280, 720):
        return as_720p(image, off_grid=True)
    return cv2.resize(as_720p(image, off_grid=True), (width, height), interpolation=cv2.INTER_CUBIC)


def compare(name: str, train_dir: Path, test_dir: Path, frame_size: tuple[int, int],
            image_size: int | None = None, epochs: int = 4) -> None:
    classifier = Classifier(trained_model(name, train_dir, image_size, epochs), num_threads=2)
    card, detail = classifier.card, classifier.input_detail
    truth, top1 = [], {"full": [], "reduced": []}
    cpu = {"full": 0.0, "reduced": 0.0}
    differences = []
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "frame.jpg"
        for class_dir in sorted(p for p in test_dir.iterdir() if p.is_dir()):
            index = classifier.labels.index(class_dir.name)
            for image_path in sorted(class_dir.iterdir()):
                frame = as_frame(decode_image(image_path), *frame_size)
                cv2.imwrite(str(path), frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
                pixels = {}
                for way, at_least in (("full", None), ("reduced", model_size(card))):
                    start = time.process_time()
                    pixels[way] = to_pixels(decode_image(path, at_least), card)
                    cpu[way] += time.process_time() - start
                    top1[way].append(classifier.classify(tensor=to_input(pixels[way], card, detail)).index)
                differences.append(np.abs(pixels["full"].astype(np.int16) - pixels["reduced"]).mean())
                truth.append(index)
    truth = np.asarray(truth)
    full, reduced = (100.0 * np.mean(np.asarray(top1[way]) == truth) for way in ("full", "reduced"))
    factor = reduced_factor(frame_size, model_size(card))
    count = len(truth)
    print(f"{name}: {count} test images as {frame_size[0]}x{frame_size[1]} JPEGs, margin "
          f"{preprocess.decode_margin(model_size(card))}x -> "
          f"{card.input_size} (decoded at 1/{factor}): full decode {full:.2f}%, reduced {reduced:.2f}%, "
          f"difference {reduced - full:+.2f} pp; pixel difference {np.mean(differences):.3f}; "
          f"decode + to_pixels {1000 * cpu['full'] / count:.2f} ms vs {1000 * cpu['reduced'] / count:.2f} ms "
          f"of CPU per image ({cpu['full'] / cpu['reduced']:.1f}x); load average {os.getloadavg()[0]:.1f}",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=500, help="Fashion-MNIST images per class")
    parser.add_argument("--frame", default="1280x720", help="JPEG size, WIDTHxHEIGHT")
    parser.add_argument("--only", choices=("fashion", "fashion224", "colours"), action="append",
                        help="run only these parts (default: all)")
    parser.add_argument("--margin", type=float, help="try another margin (reduced images stay at least "
                        "this many times the model's input; default: decode_margin's)")
    args = parser.parse_args()
    if args.margin:  # for this process only: the product's margin stays what decode_margin says
        margin = args.margin
        preprocess.decode_margin = lambda at_least: margin
    frame_size = tuple(int(side) for side in args.frame.lower().split("x"))
    parts = args.only or ["fashion", "fashion224", "colours"]
    if "fashion" in parts:
        compare("fashion_mnist", *fashion_folders(args.per_class), frame_size)
    if "fashion224" in parts:
        compare("fashion_mnist_224", *fashion_folders(args.per_class), frame_size, image_size=224, epochs=3)
    if "colours" in parts:
        compare("colours", *colour_folders(), frame_size)


if __name__ == "__main__":
    main()
