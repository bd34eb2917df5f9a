"""Accuracy effect of the fast resize (tfedge.edge.preprocess.resize) against today's single
`cv2.resize(..., INTER_AREA)`, on frames downscaled from 720p. Goal: within 0.1 pp.

Each test image is enlarged to a 1280x720 frame (bicubic, the way a camera sees an object that
fills it), then made into the model's input twice: through `to_pixels` (the fast resize) and
through the path before it (one INTER_AREA call, then the same channel order). Both inputs run
through the same int8 .tflite; the script prints both accuracies and their difference.
  - Fashion-MNIST: small_cnn trained on 500 images per class (Debian's dataset-fashion-mnist),
    5,000 test images (500 per class). A hard case: the 28x28 image is enlarged to exactly the
    frame, so one INTER_AREA call gives back pixels on the original grid; any other way of
    shrinking mixes neighbouring pixels of these high-contrast images. So each is also shown
    shifted by half an image pixel ("off the grid"), the way a camera would see it.
  - the colour set of the tests (tests/train/synthetic_images.py, 4 classes).
  - MobileNetV2 1.0 224 int8 (random weights: no ImageNet weights here) on the 900 frames of the
    1280x720 benchmark video: how often both inputs give the same top-1 class.
Also the pixel difference between the two inputs (mean and largest, 0..255), and the accuracy
at the images' own size (28 and 32 pixels: they never take the shrinking path, so the same). Models and data
are made once and cached in benchmarks/.cache/resize_accuracy/.

    .venv/bin/python benchmarks/resize_accuracy.py [--per-class 500]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from edge_models import CACHE, mobilenet_v2_int8, textured_video

from tfedge.edge.classify import Classifier
from tfedge.edge.preprocess import decode_image, resize, to_input, to_pixels

HERE = Path(__file__).resolve().parent
FOLDER = CACHE / "resize_accuracy"


def area_pixels(frame: np.ndarray, card) -> np.ndarray:
    """The path before the fast resize: one INTER_AREA call, then the card's channel order."""
    height, width = card.input_size
    frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
    if card.color_order == "GRAY":
        return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)[:, :, None]
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if card.color_order == "RGB" else frame


def trained_model(name: str, train_dir: Path, image_size: int | None = None, epochs: int = 4) -> Path:
    """The int8 .tflite of a small_cnn trained on `train_dir` (cached); given `image_size`, a
    MobileNetV2 0.35 trained from scratch at that size (no ImageNet weights here)."""
    run = FOLDER / "runs" / name
    model = run / "model_int8.tflite"
    if model.exists():
        return model
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from tfedge.convert.convert_run import convert_run
    from tfedge.train.fit import train
    from tfedge.train.hparams import HParams

    hparams = HParams(epochs=epochs, batch_size=64)
    if image_size:
        hparams = HParams(backbone="mobilenet_v2_035", weights="none", image_size=image_size, epochs=epochs,
                          batch_size=32)
    train(train_dir, run, hparams, log=lambda *_: None)
    convert_run(run, ["int8"], calibration_images=200, verify=False, log=lambda *_: None)
    return model


def fashion_folders(per_class: int) -> tuple[Path, Path]:
    from tfedge.train.fashion_mnist import export

    out = FOLDER / f"fashion_{per_class}"
    if not out.exists():
        export(out, limit_per_class=per_class)  # both splits: per_class images of each class
    return out / "train", out / "test"


def colour_folders() -> tuple[Path, Path]:
    sys.path.insert(0, str(HERE.parent / "tests" / "train"))
    from synthetic_images import write_class_images

    out = FOLDER / "colours"
    if not out.exists():
        for pattern in range(4):
            write_class_images(out / "train" / f"class_{pattern}", 120, pattern, size=32)
            write_class_images(out / "test" / f"class_{pattern}", 100, pattern, size=32, seed=7)
    return out / "train", out / "test"


def as_720p(image: np.ndarray, off_grid: bool = False) -> np.ndarray:
    """`image` enlarged to fill a 1280x720 frame; `off_grid`: shifted by about half an image
    pixel (as a camera would see it), so that neither way of shrinking lands on its grid."""
    if not off_grid:
        return cv2.resize(image, (1280, 720), interpolation=cv2.INTER_CUBIC)
    height, width = image.shape[:2]
    big = cv2.resize(image, (1280 + 1280 // width, 720 + 720 // height), interpolation=cv2.INTER_CUBIC)
    top, left = 720 // height // 2, 1280 // width // 2
    return big[top : top + 720, left : left + 1280]


class Comparison:
    def __init__(self, classifier: Classifier) -> None:
        self.classifier = classifier
        self.fast_top1: list[int] = []
        self.area_top1: list[int] = []
        self.pixel_mean: list[float] = []
        self.pixel_max = 0

    def add(self, frame: np.ndarray) -> None:
        card, detail = self.classifier.card, self.classifier.input_detail
        fast, area = to_pixels(frame, card), area_pixels(frame, card)
        difference = np.abs(fast.astype(np.int16) - area)
        self.pixel_mean.append(float(difference.mean()))
        self.pixel_max = max(self.pixel_max, int(difference.max()))
        self.fast_top1.append(self.classifier.classify(tensor=to_input(fast, card, detail)).index)
        self.area_top1.append(self.classifier.classify(tensor=to_input(area, card, detail)).index)

    def pixels(self) -> str:
        return f"pixel difference mean {np.mean(self.pixel_mean):.3f}, largest {self.pixel_max}"


def labelled_accuracy(name: str, train_dir: Path, test_dir: Path, image_size: int | None = None,
                      epochs: int = 4) -> None:
    classifier = Classifier(trained_model(name, train_dir, image_size, epochs), num_threads=2)
    comparison, shifted, truth = Comparison(classifier), Comparison(classifier), []
    for class_dir in sorted(path for path in test_dir.iterdir() if path.is_dir()):
        index = classifier.labels.index(class_dir.name)
        for path in sorted(class_dir.iterdir()):
            image = decode_image(path)
            comparison.add(as_720p(image))
            shifted.add(as_720p(image, off_grid=True))
            truth.append(index)
    truth = np.asarray(truth)
    native = Comparison(classifier)
    for class_dir in sorted(path for path in test_dir.iterdir() if path.is_dir()):
        for path in sorted(class_dir.iterdir()):
            native.add(decode_image(path))
    print(f"{name}: {len(truth)} test images at their own size: fast resize "
          f"{100.0 * np.mean(np.asarray(native.fast_top1) == truth):.2f}%, INTER_AREA "
          f"{100.0 * np.mean(np.asarray(native.area_top1) == truth):.2f}%; {native.pixels()}", flush=True)
    for label, measured in (("720p frames", comparison), ("720p frames off the grid", shifted)):
        fast = 100.0 * np.mean(np.asarray(measured.fast_top1) == truth)
        area = 100.0 * np.mean(np.asarray(measured.area_top1) == truth)
        print(f"{name}: {len(truth)} test images as {label} -> {classifier.card.input_size}: "
              f"fast resize {fast:.2f}%, INTER_AREA {area:.2f}%, difference {fast - area:+.2f} pp "
              f"(goal within 0.1 pp); {measured.pixels()}", flush=True)


def mobilenet_agreement() -> None:
    classifier = Classifier(mobilenet_v2_int8(1.0, 224), num_threads=2)
    comparison = Comparison(classifier)
    capture = cv2.VideoCapture(str(textured_video(1280, 720, frames=900)))
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        comparison.add(frame)
    same = 100.0 * np.mean(np.asarray(comparison.fast_top1) == np.asarray(comparison.area_top1))
    print(f"MobileNetV2 1.0 224 int8 (random weights), {len(comparison.fast_top1)} 1280x720 video "
          f"frames: same top-1 class for {same:.2f}% of frames; {comparison.pixels()}")


def resize_timing(repeats: int = 300) -> None:
    """CPU per call of `resize` against one INTER_AREA call, side by side on the same frames."""
    rng = np.random.default_rng(0)
    cv2.setNumThreads(1)  # one core each, as the capture thread runs it
    for frame_w, frame_h in ((1280, 720), (640, 480), (1920, 1080)):
        frame = cv2.GaussianBlur(rng.integers(0, 256, (frame_h, frame_w, 3), np.uint8), (0, 0), 2)
        for side in (224, 96, 28):
            ways = {"fast": lambda frame=frame, side=side: resize(frame, side, side),
                    "area": lambda frame=frame, side=side: cv2.resize(frame, (side, side),
                                                                      interpolation=cv2.INTER_AREA)}
            times = {}
            for label, shrink in ways.items():
                shrink()
                start = time.process_time()
                for _ in range(repeats):
                    shrink()
                times[label] = (time.process_time() - start) / repeats * 1000
            difference = np.abs(resize(frame, side, side).astype(np.int16)
                                - cv2.resize(frame, (side, side), interpolation=cv2.INTER_AREA)).mean()
            print(f"resize {frame_w}x{frame_h} -> {side}x{side}: fast {times['fast']:.3f} ms, INTER_AREA "
                  f"{times['area']:.3f} ms of CPU ({times['area'] / times['fast']:.1f}x); pixel "
                  f"difference {difference:.3f} (blurred noise)", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=500, help="Fashion-MNIST training images per class")
    parser.add_argument("--only", choices=("timing", "fashion", "fashion224", "colours", "mobilenet"),
                        action="append", help="run only these parts (default: all)")
    args = parser.parse_args()
    parts = args.only or ["timing", "fashion", "fashion224", "colours", "mobilenet"]
    if "timing" in parts:
        resize_timing()
    if "fashion" in parts:
        labelled_accuracy("fashion_mnist", *fashion_folders(args.per_class))
    if "fashion224" in parts:  # a 224-pixel model: the large-output path of the resize
        labelled_accuracy("fashion_mnist_224", *fashion_folders(args.per_class), image_size=224, epochs=3)
    if "colours" in parts:
        labelled_accuracy("colours", *colour_folders())
    if "mobilenet" in parts:
        mobilenet_agreement()


if __name__ == "__main__":
    main()
