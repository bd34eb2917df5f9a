"""The README's walkthrough, run for real: photos/ -> tfedge train -> tfedge convert -> tfedge run.

Prints every step's command, its output and its wall time: the figures README.md quotes in
"Walkthrough" come from this script.

No hot dog photos exist on the machine that measures and nothing can be downloaded, so the
script first builds a stand-in photo folder: `photos/hot_dog/` holds Fashion-MNIST sneakers and
`photos/not_hot_dog/` the other nine Fashion-MNIST classes mixed evenly, each 28x28 gray image
upscaled and coloured into a 640x480 JPEG (a webcam-sized photo). A held-out MP4 made the same
way from Fashion-MNIST's test images stands in for the Pi's camera. Then it runs, in that folder,
exactly the walkthrough's command lines (WALKTHROUGH below, which tests/test_readme.py checks
against README.md). Copying to the Pi (scp) and the camera cannot run here.

    .venv/bin/python scripts/walkthrough.py    # 82-106 s on 2 shared CPU cores (README.md)
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

PHOTO_WIDTH, PHOTO_HEIGHT = 640, 480
USER_ENV = dict(os.environ)  # the commands run in the user's environment, not the script's
HOT_DOG_CLASS = "Sneaker"  # Fashion-MNIST's folder name for the class standing in for hot dogs
CAMERA_VIDEO = "camera.mp4"  # stands in for `--source picamera2`
VIDEO_IMAGES_PER_CLASS = 30
FRAMES_PER_IMAGE = 5

# The README's walkthrough command lines, run as written in the output folder (the working
# directory). `tfedge run` reads a video instead of the camera and stops after its frames.
TRAIN = "tfedge train photos --out runs/hot_dog"
CONVERT = "tfedge convert runs/hot_dog"
RUN = (f"tfedge run runs/hot_dog/model_int8.tflite --source {CAMERA_VIDEO} --headless "
       f"--max-frames {2 * VIDEO_IMAGES_PER_CLASS * FRAMES_PER_IMAGE}")
# Transfer learning, which the README suggests for real photos, runs with `--weights imagenet`.
# ImageNet weights cannot be downloaded here, so a weights file of the same backbone stands in
# for them (random filters, BatchNorm statistics measured on the photos): the same two stages
# and the same compute, so the time is what a user gets; the accuracy is not.
STAND_IN_WEIGHTS = "stand_in_mobilenet_v2_050_notop.weights.h5"
TRAIN_MOBILENET = ("tfedge train photos --out runs/hot_dog_mobilenet --backbone mobilenet_v2_050 "
                   f"--weights {STAND_IN_WEIGHTS}")
TRAIN_MOBILENET_AS_DOCUMENTED = TRAIN_MOBILENET.replace(STAND_IN_WEIGHTS, "imagenet")
WALKTHROUGH = (TRAIN, CONVERT, RUN, TRAIN_MOBILENET)


def photo(gray, rng):
    """A 28x28 gray Fashion-MNIST image as a 640x480 colour photo: upscaled, tinted, on a
    coloured background at a random place and size, with a little sensor noise."""
    import cv2
    import numpy as np

    side = int(rng.integers(300, 460))
    item = cv2.resize(gray, (side, side), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255
    background = rng.uniform(120, 240, size=3).astype(np.float32)
    ink = rng.uniform(0, 200, size=3).astype(np.float32)
    canvas = np.empty((PHOTO_HEIGHT, PHOTO_WIDTH, 3), np.float32)
    canvas[:] = background + rng.uniform(-20, 20, size=(1, PHOTO_WIDTH, 1))  # uneven light
    top = int(rng.integers(0, PHOTO_HEIGHT - side + 1))
    left = int(rng.integers(0, PHOTO_WIDTH - side + 1))
    alpha = item[..., None]
    region = canvas[top:top + side, left:left + side]
    canvas[top:top + side, left:left + side] = region * (1 - alpha) + ink * alpha
    canvas += rng.normal(0, 4, size=canvas.shape)
    return np.clip(canvas, 0, 255).astype(np.uint8)


def build_photos(out: Path, per_class: int, seed: int) -> tuple[int, float]:
    """Writes out/photos/{hot_dog,not_hot_dog}/*.jpg and out/camera.mp4 (+ its frame labels)."""
    import cv2
    import numpy as np

    from tfedge.edge.labelled import list_classes

    rng = np.random.default_rng(seed)
    fashion = out / "fashion-mnist"
    # enough per class that the nine "not hot dog" classes together give per_class images
    limit = max(per_class, VIDEO_IMAGES_PER_CLASS)
    command = [sys.executable, "-m", "tfedge", "data", "fashion-mnist", str(fashion),
               "--limit-per-class", str(limit), "--overwrite"]
    subprocess.run(command, check=True, env=USER_ENV, stdout=subprocess.DEVNULL)

    def pick(split: str, count: int) -> dict[str, list[Path]]:
        classes = list_classes(fashion / split)
        others = [paths for name, paths in sorted(classes.items()) if name != HOT_DOG_CLASS]
        mixed = [paths[i] for i in range(max(map(len, others))) for paths in others
                 if i < len(paths)]
        return {"hot_dog": classes[HOT_DOG_CLASS][:count], "not_hot_dog": mixed[:count]}

    sizes = []
    for label, paths in pick("train", per_class).items():
        folder = out / "photos" / label
        folder.mkdir(parents=True)
        for path in paths:
            target = folder / (path.stem + ".jpg")
            gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            cv2.imwrite(str(target), photo(gray, rng), [cv2.IMWRITE_JPEG_QUALITY, 90])
            sizes.append(target.stat().st_size)

    frames = [(label, path) for label, paths in pick("test", VIDEO_IMAGES_PER_CLASS).items()
              for path in paths]
    rng.shuffle(frames)  # the classes come and go, as in front of a camera
    writer = cv2.VideoWriter(str(out / CAMERA_VIDEO), cv2.VideoWriter_fourcc(*"mp4v"), 30.0,
                             (PHOTO_WIDTH, PHOTO_HEIGHT))
    if not writer.isOpened():
        sys.exit("walkthrough: OpenCV cannot write an MP4 video here")
    truth = []
    for label, path in frames:
        image = photo(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), rng)
        for _ in range(FRAMES_PER_IMAGE):
            writer.write(image)
            truth.append(label)
    writer.release()
    (out / (CAMERA_VIDEO + ".labels.json")).write_text(json.dumps(truth) + "\n")
    shutil.rmtree(fashion)
    return len(sizes), sum(sizes) / len(sizes)


def write_stand_in_weights(out: Path, side: int = 128, images: int = 256) -> None:
    """MobileNetV2 0.5 without its top, random filters, BatchNorm statistics of the photos."""
    import cv2
    import numpy as np

    from tfedge.quiet import quiet_tensorflow

    quiet_tensorflow()  # this process's TensorFlow, imported quietly as tfedge train does
    import keras

    from tfedge.train.backbones import Backbone
    from tfedge.train.model import build_backbone

    backbone = build_backbone(Backbone.MOBILENET_V2_050, (side, side))
    paths = sorted((out / "photos").rglob("*.jpg"))[::2][:images]
    pixels = np.stack([cv2.resize(cv2.imread(str(path))[..., ::-1], (side, side),
                                  interpolation=cv2.INTER_AREA) for path in paths])
    for layer in backbone.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.0  # one call sets the statistics to this batch's
    backbone(pixels.astype("float32") / 127.5 - 1, training=True)
    backbone.save_weights(out / STAND_IN_WEIGHTS)


# `tfedge convert` exits 7 when int8 loses more than --max-drop against Keras, and still writes
# the file: on a small validation set one image is about 1 pp, so the walkthrough goes on.
ACCURACY_ERROR = 7


def step(command: str, cwd: Path) -> tuple[float, str]:
    """Runs one walkthrough command line as a user would (the venv's tfedge), prints its output
    indented and its wall time, and returns (seconds, stdout)."""
    argv = shlex.split(command)
    argv[0] = str(Path(sys.executable).with_name("tfedge"))
    print(f"\n$ {command}", flush=True)
    started = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, env=USER_ENV, text=True, capture_output=True,
                            check=False)
    seconds = time.perf_counter() - started
    for stream, text in (("stderr", result.stderr), ("stdout", result.stdout)):
        lines = text.splitlines()
        if stream == "stdout" and command.startswith("tfedge run"):
            lines = lines[:2] + ["  ..."] + lines[-2:] if len(lines) > 4 else lines
        for line in lines:
            print(f"  [{stream}] {line}")
    print(f"  -> exit code {result.returncode}, {seconds:.1f} s wall time", flush=True)
    if result.returncode == ACCURACY_ERROR and command is CONVERT:
        print("  (exit code 7: the int8 file is written; the README's walkthrough says what it means)")
    elif result.returncode != 0:
        sys.exit(f"walkthrough: `{command}` failed with exit code {result.returncode}")
    return seconds, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("build/walkthrough"),
                        help="working folder, replaced on each run (default build/walkthrough)")
    parser.add_argument("--per-class", type=int, default=300,
                        help="stand-in photos per class (default 300)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-mobilenet", action="store_true",
                        help="leave out the MobileNetV2 timing")
    args = parser.parse_args()
    out = args.out.resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)

    print(f"machine: {os.cpu_count()} CPUs, load average at start "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    started = time.perf_counter()
    count, mean_size = build_photos(out, args.per_class, args.seed)
    print(f"stand-in photos: {count} JPEGs of {PHOTO_WIDTH}x{PHOTO_HEIGHT} "
          f"(mean {mean_size / 1024:.0f} KiB) in {out / 'photos'}: hot_dog = Fashion-MNIST "
          f"{HOT_DOG_CLASS}, not_hot_dog = the other nine classes; built in "
          f"{time.perf_counter() - started:.1f} s")

    times = {}
    for command in WALKTHROUGH:
        if command is TRAIN_MOBILENET:
            if args.skip_mobilenet:
                continue
            write_stand_in_weights(out)
            print(f"\n(as documented: {TRAIN_MOBILENET_AS_DOCUMENTED}; {STAND_IN_WEIGHTS} "
                  "stands in for the ImageNet weights, which cannot be downloaded here)")
        times[command], stdout = step(command, out)
        if command is RUN:
            truth = json.loads((out / (CAMERA_VIDEO + ".labels.json")).read_text())
            frames = [json.loads(line) for line in stdout.splitlines() if line.startswith('{"frame')]
            correct = sum(frame["label"] == truth[frame["frame"]] for frame in frames)
            print(f"  frame accuracy against the video's truth: {correct}/{len(frames)} "
                  f"({correct / len(frames) * 100:.1f}%)")

    model = out / "runs" / "hot_dog" / "model_int8.tflite"
    print(f"\n{model.relative_to(out)}: {model.stat().st_size / 1024:.1f} KiB (what scp copies)")
    print("\nwall time per step:")
    for command, seconds in times.items():
        print(f"  {seconds:7.1f} s  {command}")
    print(f"load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
