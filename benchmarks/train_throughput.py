"""Training throughput (images/s) of `tfedge train` against a plain, well-written Keras script.

Both train the same model (the small_cnn preset, 28x28 gray) on the same Fashion-MNIST image
folder with the same batch size and epochs, in one process, one after the other. The plain
script is what the Keras guides recommend: `image_dataset_from_directory`, `.cache()`,
`.prefetch(AUTOTUNE)`, `model.fit` with validation. Images/s counts training images over the
epochs after the first (which includes tracing), each epoch's time including its validation,
for both alike. `tfedge train` additionally recomputes BatchNorm statistics and checkpoints
every epoch (for --resume), both inside its epoch time. Other jobs on the machine move the
figures, so the two alternate for --rounds rounds; the medians, each round and the machine's
load are printed, with where tfedge's epoch time goes and every epoch's seconds (with tf.data's
autotuning on, as in the plain script, an epoch can start a second late: Keras drops the last
epoch's iterator and TensorFlow joins its autotuning thread; tfedge's pipeline has none).

    .venv/bin/python benchmarks/train_throughput.py [--data DIR] [--per-class 1000] [--epochs 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def plain_keras(train_dir: Path, batch_size: int, epochs: int, seed: int) -> tuple[float, list]:
    """The plain script's images/s over epochs 2.., and its seconds per epoch."""
    import keras
    import tensorflow as tf

    from tfedge.train.backbones import Backbone
    from tfedge.train.model import build_model

    train_ds, val_ds = keras.utils.image_dataset_from_directory(
        train_dir, color_mode="grayscale", image_size=(28, 28), batch_size=batch_size,
        validation_split=0.2, subset="both", seed=seed)
    train_images = sum(int(x.shape[0]) for x, _ in train_ds)
    train_ds = train_ds.cache().prefetch(tf.data.AUTOTUNE)
    val_ds = val_ds.cache().prefetch(tf.data.AUTOTUNE)
    keras.utils.set_random_seed(seed)
    model = build_model(Backbone.SMALL_CNN, (28, 28), 1, 10)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])

    seconds = []  # per epoch, this call's only (a round each)

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.started)

    model.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=[Timer()], verbose=0)
    steady = seconds[1:]
    return train_images * len(steady) / sum(steady), seconds


def _seconds(epochs: list) -> str:
    return " ".join(f"{s:.2f}" for s in epochs)


def load() -> str:
    return "load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def ours(train_dir: Path, out: Path, batch_size: int, epochs: int) -> tuple[float, dict, list]:
    """tfedge train's images/s over epochs 2.., its median seconds per part of an epoch, and its
    seconds per epoch."""
    from tfedge.train.fit import train
    from tfedge.train.hparams import HParams

    hparams = HParams(epochs=epochs, batch_size=batch_size, early_stopping_patience=0)
    metrics = train(train_dir, out, hparams, overwrite=True, log=lambda *_: None)
    history = metrics["history"]
    parts = {name: statistics.median(history[name][1:]) for name in
             ("epoch_seconds", "batchnorm_seconds", "validation_seconds", "checkpoint_seconds")}
    return (metrics["images_per_second"], {"train_images": metrics["train_images"], **parts},
            history["epoch_seconds"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="an exported Fashion-MNIST folder")
    parser.add_argument("--per-class", type=int, default=1000, help="training images per class")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of the two")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    from tfedge.train.fashion_mnist import export

    print(load())
    plain_rates, our_rates, parts = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        data = args.data
        if data is None:
            data = Path(folder) / "fashion"
            export(data, limit_per_class=args.per_class)
        for round_number in range(1, args.rounds + 1):
            plain_rate, plain_epochs = plain_keras(data / "train", args.batch_size, args.epochs, seed=42)
            plain_rates.append(plain_rate)
            rate, part, our_epochs = ours(data / "train", Path(folder) / "run", args.batch_size, args.epochs)
            our_rates.append(rate)
            parts.append(part)
            print(f"round {round_number}: plain {plain_rates[-1]:8.1f} images/s, tfedge {rate:8.1f} "
                  f"images/s, ratio {rate / plain_rates[-1]:.2f}; {load()}", flush=True)
            print(f"  seconds per epoch: plain {_seconds(plain_epochs)}; tfedge {_seconds(our_epochs)}",
                  flush=True)
    plain, tfedge = statistics.median(plain_rates), statistics.median(our_rates)
    median = {name: statistics.median(part[name] for part in parts) for name in parts[0]}
    print(f"same model (small_cnn 28x28 gray), {parts[0]['train_images']} training images, batch "
          f"{args.batch_size}, {args.epochs} epochs, images/s over epochs 2-{args.epochs}, median of "
          f"{args.rounds} alternating rounds:")
    print(f"plain Keras script (image_dataset_from_directory + cache + prefetch): {plain:8.1f} images/s")
    print(f"tfedge train (decoded once by tfedge.edge, tf.data, BatchNorm recompute, per-epoch "
          f"checkpoint): {tfedge:8.1f} images/s")
    print(f"tfedge's epoch: {median['epoch_seconds']:.3f} s, of which BatchNorm recompute "
          f"{median['batchnorm_seconds']:.3f} s, validation {median['validation_seconds']:.3f} s, "
          f"checkpoint {median['checkpoint_seconds']:.3f} s")
    print(f"ratio tfedge/plain (medians): {tfedge / plain:.2f} (goal >= 1.1)")
    print(load())
    return 0


if __name__ == "__main__":
    sys.exit(main())
