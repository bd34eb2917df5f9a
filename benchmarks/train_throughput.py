"""Training throughput (images/s) of `tfedge train` against a plain, well-written Keras script.

Both train the same model (the small_cnn preset, 28x28 gray) on the same Fashion-MNIST image
folder with the same batch size and epochs, in one process, one after the other. The plain
script is what the Keras guides recommend: `image_dataset_from_directory`, `.cache()`,
`.prefetch(AUTOTUNE)`, `model.fit` with validation. Images/s counts training images over the
epochs after the first (which includes tracing), each epoch's time including its validation,
for both alike. `tfedge train` additionally checkpoints every epoch (for --resume).

    .venv/bin/python benchmarks/train_throughput.py [--data DIR] [--per-class 1000] [--epochs 4]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def plain_keras(train_dir: Path, batch_size: int, epochs: int, seed: int) -> float:
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

    class Timer(keras.callbacks.Callback):
        seconds: list = []

        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            Timer.seconds.append(time.perf_counter() - self.started)

    model.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=[Timer()], verbose=0)
    steady = Timer.seconds[1:]
    return train_images * len(steady) / sum(steady)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="an exported Fashion-MNIST folder")
    parser.add_argument("--per-class", type=int, default=1000, help="training images per class")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    from tfedge.train.fashion_mnist import export
    from tfedge.train.fit import train
    from tfedge.train.hparams import HParams

    with tempfile.TemporaryDirectory() as folder:
        data = args.data
        if data is None:
            data = Path(folder) / "fashion"
            export(data, limit_per_class=args.per_class)
        plain = plain_keras(data / "train", args.batch_size, args.epochs, seed=42)
        hparams = HParams(epochs=args.epochs, batch_size=args.batch_size, early_stopping_patience=0)
        metrics = train(data / "train", Path(folder) / "run", hparams, log=lambda *_: None)
    ours = metrics["images_per_second"]
    print(f"same model (small_cnn 28x28 gray), {metrics['train_images']} training images, batch "
          f"{args.batch_size}, {args.epochs} epochs, images/s over epochs 2-{args.epochs}:")
    print(f"plain Keras script (image_dataset_from_directory + cache + prefetch): {plain:8.1f} images/s")
    print(f"tfedge train (decoded once by tfedge.edge, tf.data, per-epoch checkpoint): {ours:8.1f} images/s")
    print(f"ratio tfedge/plain: {ours / plain:.2f} (goal >= 1.0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
