"""Models and videos the edge benchmarks share, built once and cached in benchmarks/.cache/.

Building needs TensorFlow (a desktop); the benchmarks then run them through tfedge.edge only.
MobileNetV2 is built with random weights (keras.applications.MobileNetV2(weights=None)): speed
and memory do not depend on the weights. Like tfedge's own models, it takes 0..255 pixels and
carries its scaling as the first layer, and the int8 file has uint8 input and output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

CACHE = Path(__file__).resolve().parent / ".cache"


def mobilenet_v2_int8(alpha: float = 1.0, size: int = 224, classes: int = 1000) -> Path:
    """Path of a cached full-integer MobileNetV2 (alpha, size) .tflite with a tfedge card."""
    path = CACHE / f"mobilenet_v2_{alpha}_{size}_int8.tflite"
    if not path.exists():
        _build_int8(path, "MobileNetV2", size, classes, f"mobilenet_v2 alpha {alpha} (random weights)",
                    alpha=alpha)
    return path


def resnet_float32(depth: int = 101, size: int = 224, classes: int = 1000) -> Path:
    """Path of a cached float32 ResNet (50, 101 or 152 layers) taking 0..255 float pixels: a
    model slower than a 30 FPS camera that still takes the usual 224x224 input, so preparing the
    frames it classifies costs what it costs for a MobileNetV2 at 224. On one thread of the
    2-core reference desktop ResNet101 takes 67 ms of CPU per invoke (15 FPS; ResNet152 about
    10 FPS); int8 ResNets are much faster here (XNNPACK: ResNet152 int8 at 224, 28 ms)."""
    path = CACHE / f"resnet{depth}_{size}_float32.tflite"
    if not path.exists():
        _build_int8(path, f"ResNet{depth}", size, classes, f"resnet{depth} (random weights)", quantize=False)
    return path


def resnet_int8(depth: int = 50, size: int = 640, classes: int = 1000) -> Path:
    """Path of a cached full-integer ResNet (50, 101 or 152 layers) at `size` pixels. On one
    thread of the 2-core reference desktop ResNet50 at 640 takes 81-84 ms of CPU per invoke
    (about 12 FPS), but preparing a 720p frame for its 640x640 input costs 1.5 ms."""
    path = CACHE / f"resnet{depth}_{size}_int8.tflite"
    if not path.exists():
        _build_int8(path, f"ResNet{depth}", size, classes, f"resnet{depth} (random weights)")
    return path


def _build_int8(path: Path, application: str, size: int, classes: int, backbone: str,
                quantize: bool = True, **options) -> None:
    """Build keras.applications.APPLICATION(weights=None) taking 0..255 pixels, convert it to
    full-integer int8 with uint8 input and output (`quantize`; else float32), and write it with a
    tfedge card to `path`.

    Built in a child process, so TensorFlow (about 1 GB) never loads into the benchmark's own:
    Linux gives every process started after that a peak RSS (ru_maxrss) of at least the parent's,
    which would hide the figures the benchmarks measure."""
    arguments = json.dumps([str(path), application, size, classes, backbone, quantize, options])
    subprocess.run([sys.executable, "-c", "import json, sys, edge_models; "
                    "edge_models._build_here(*json.loads(sys.argv[1]))", arguments],
                   cwd=Path(__file__).resolve().parent, check=True)


def _build_here(path: str, application: str, size: int, classes: int, backbone: str, quantize: bool,
                options: dict) -> None:
    """`_build_int8` in this process (its child's)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    from tfedge.edge.card import ModelCard, embed_card
    from tfedge.fileio import write_bytes_atomic

    network = getattr(tf.keras.applications, application)(input_shape=(size, size, 3), weights=None,
                                                           classes=classes, **options)
    inputs = tf.keras.Input((size, size, 3))
    model = tf.keras.Model(inputs, network(tf.keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)))
    rng = np.random.default_rng(0)

    def calibration():
        for _ in range(8):
            yield [rng.integers(0, 256, (1, size, size, 3)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if quantize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = calibration
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.uint8
    card = ModelCard(labels=[f"class_{i}" for i in range(classes)], input_size=(size, size),
                     color_order="RGB", backbone=backbone, quantization="int8" if quantize else "float32")
    write_bytes_atomic(Path(path), embed_card(converter.convert(), card))


def plain_model(model: Path) -> Path:
    """The same .tflite as plain TFLiteConverter output (no tfedge card), `labels.txt` beside it:
    the files a user of the tutorial loops and of MediaPipe has."""
    from tfedge.edge.card import read_embedded_card, strip_embedded
    from tfedge.fileio import write_bytes_atomic

    folder = CACHE / f"{model.stem}_plain"
    path = folder / "model.tflite"
    if path.exists():
        return path
    content = model.read_bytes()
    folder.mkdir(parents=True, exist_ok=True)
    labels = read_embedded_card(content).labels
    write_bytes_atomic(folder / "labels.txt", ("\n".join(labels) + "\n").encode())
    write_bytes_atomic(path, strip_embedded(content))
    return path


def textured_video(width: int, height: int, frames: int = 300, fps: float = 30.0) -> Path:
    """Path of a cached MP4 (mpeg4): a textured scene panning and changing, costly enough to
    decode to stand for camera footage (flat test images decode almost for free)."""
    path = CACHE / f"pan_{width}x{height}_{frames}.mp4"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    scene = cv2.GaussianBlur(rng.integers(0, 256, (height * 2, width * 2, 3), dtype=np.uint8), (0, 0), 3)
    temp = path.with_suffix(".partial.mp4")
    writer = cv2.VideoWriter(str(temp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for i in range(frames):
        x, y = (i * 7) % width, (i * 3) % height
        frame = scene[y : y + height, x : x + width].copy()
        cv2.circle(frame, ((i * 11) % width, height // 2), height // 6, (0, 0, 255), -1)
        writer.write(frame)
    writer.release()
    os.replace(temp, path)
    return path


if __name__ == "__main__":
    for built in (mobilenet_v2_int8(), textured_video(640, 480)):
        print(built, f"{built.stat().st_size / 1e6:.1f} MB")
