"""GPU check of tfedge's Keras models where TensorFlow cannot be installed (the lent GPU machine
has no TensorFlow and no package index; TensorFlow's wheel is far over what can be carried).

Trains the model that `tfedge.train.model.build_model` builds (MobileNetV2 0.5 preset, 128 px,
weights none) on a synthetic 4-class image set with Keras 3 on the JAX backend, and prints
images/s for: GPU mixed_float16, GPU float32, CPU float32, measured side by side in one run.
Checks: the GPU run really used the GPU, the output layer stays float32 under mixed precision,
losses are finite, and the model learns (training accuracy; validation accuracy is printed too:
a from-scratch network's BatchNorm statistics lag behind after so few steps).

    KERAS_BACKEND=jax python benchmarks/gpu_keras_check.py

What it does not check: `tfedge train`'s TensorFlow input pipeline, tf.distribute strategies and
TF's XLA on a GPU (those need TensorFlow with CUDA; see README "Not yet built").
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

from tfedge.train.backbones import Backbone  # noqa: E402
from tfedge.train.model import build_model  # noqa: E402

SIZE = 128
CLASSES = 4


def synthetic(count: int, seed: int):
    """Colour images whose bright quadrant tells the class."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CLASSES, count)
    images = rng.integers(0, 90, (count, SIZE, SIZE, 3)).astype(np.float32)
    half = SIZE // 2
    for i, label in enumerate(labels):
        row, col = divmod(int(label), 2)
        images[i, row * half:(row + 1) * half, col * half:(col + 1) * half] += 120
    return images, labels.astype(np.int32)


def train_once(policy: str, device, x, y, x_val, y_val, epochs: int) -> dict:
    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(0)
    with jax.default_device(device):
        model = build_model(Backbone.MOBILENET_V2_050, (SIZE, SIZE), 3, CLASSES, weights="none")
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"], jit_compile=True)
        model.fit(x[:256], y[:256], batch_size=128, epochs=1, verbose=0)  # compile outside the timing
        started = time.perf_counter()
        history = model.fit(x, y, batch_size=128, epochs=epochs, verbose=0)
        seconds = time.perf_counter() - started
        _, val_accuracy = model.evaluate(x_val, y_val, batch_size=256, verbose=0)
        backbone = model.get_layer("backbone")
        conv_dtype = next(layer for layer in backbone.layers if "conv" in layer.name.lower()).compute_dtype
        weights_device = str(list(model.trainable_variables[0].value.devices())[0])
    keras.mixed_precision.set_global_policy("float32")
    return {"policy": policy, "device": weights_device, "images_per_s": len(x) * epochs / seconds,
            "losses": history.history["loss"], "train_accuracy": history.history["accuracy"][-1],
            "val_accuracy": float(val_accuracy),
            "output_dtype": model.layers[-1].compute_dtype, "backbone_compute_dtype": conv_dtype}


def main() -> int:
    gpus = [d for d in jax.devices() if d.platform == "gpu"]
    print(f"keras {keras.__version__} on jax {jax.__version__}; devices: {jax.devices()}")
    if not gpus:
        print("GPU CHECK FAILED: JAX sees no GPU")
        return 1
    x, y = synthetic(4096, 0)
    x_val, y_val = synthetic(512, 1)
    cpu = jax.devices("cpu")[0]
    rows = [train_once("mixed_float16", gpus[0], x, y, x_val, y_val, epochs=3),
            train_once("float32", gpus[0], x, y, x_val, y_val, epochs=3),
            train_once("float32", cpu, x[:512], y[:512], x_val, y_val, epochs=1)]
    for row in rows:
        print(f"{row['policy']:14s} on {row['device']:10s} {row['images_per_s']:9.0f} images/s  "
              f"train accuracy {row['train_accuracy']:.3f} val {row['val_accuracy']:.3f}  "
              f"backbone {row['backbone_compute_dtype']}, "
              f"output {row['output_dtype']}  losses {[round(v, 3) for v in row['losses']]}")
    mixed, full, on_cpu = rows
    print(f"GPU mixed_float16 / GPU float32: {mixed['images_per_s'] / full['images_per_s']:.2f}x images/s")
    print(f"GPU mixed_float16 / CPU float32: {mixed['images_per_s'] / on_cpu['images_per_s']:.1f}x images/s")
    ok = ("cuda" in mixed["device"].lower() or "gpu" in mixed["device"].lower()) \
        and mixed["output_dtype"] == "float32" and mixed["backbone_compute_dtype"] == "float16" \
        and all(np.isfinite(mixed["losses"])) and mixed["train_accuracy"] > 0.9
    print("GPU CHECK " + ("PASSED" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
