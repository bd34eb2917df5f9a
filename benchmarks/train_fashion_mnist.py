"""Fashion-MNIST test accuracy of the default small-image preset, trained within 10 minutes.

Exports the full dataset (60,000 training and 10,000 test PNGs, from Debian's
dataset-fashion-mnist) once, trains `tfedge train`'s default preset (small_cnn, its default
settings; augmentation is off for it) with a 10-minute training budget, then classifies the
10,000 test images as the device would (same decode and preprocessing) and prints the
accuracy. The goal is >= 91%.

    .venv/bin/python benchmarks/train_fashion_mnist.py [--data DIR] [--minutes 10]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "tfedge-fashion-mnist",
                        help="where the PNG export lives (made when missing)")
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget")
    parser.add_argument("--epochs", type=int, default=10, help="most epochs within the budget")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    from tfedge.train.fashion_mnist import export

    if not (args.data / "test").is_dir():
        started = time.perf_counter()
        export(args.data, overwrite=True)
        print(f"exported Fashion-MNIST to {args.data} in {time.perf_counter() - started:.0f} s")

    import numpy as np

    from tfedge.edge.card import load_card
    from tfedge.edge.labelled import list_classes, load_pixels
    from tfedge.train.fit import train
    from tfedge.train.hparams import HParams

    hparams = HParams(epochs=args.epochs, max_train_seconds=args.minutes * 60)
    with tempfile.TemporaryDirectory() as folder:
        run = Path(folder) / "fashion"
        started = time.perf_counter()
        metrics = train(args.data / "train", run, hparams, log=lambda *_: None)
        wall = time.perf_counter() - started
        import keras

        card = load_card(run / "card.json")
        model = keras.saving.load_model(run / "model.keras")
        classes = list_classes(args.data / "test")
        items = [(path, card.labels.index(name)) for name, paths in classes.items() for path in paths]
        pixels, labels, skipped = load_pixels(items, card)
        scores = model.predict(pixels.astype("float32"), batch_size=512, verbose=0)
    accuracy = float(np.mean(scores.argmax(axis=1) == labels))
    print(f"preset: {hparams.backbone} (defaults; augmentation off), {metrics['train_images']} training / "
          f"{metrics['val_images']} validation images, batch {hparams.batch_size}")
    print(f"training: {metrics['epochs_run']} epochs in {metrics['train_seconds']:.0f} s "
          f"(budget {args.minutes * 60:.0f} s; {metrics['images_per_second']:.0f} images/s); whole run "
          f"including decoding and writing: {wall:.0f} s")
    if metrics["stopped_early"]:
        print(f"stopped: {'; '.join(metrics['stopped_early'])}")
    print(f"validation accuracy: {metrics['val_accuracy']:.2%}")
    print(f"Fashion-MNIST test accuracy: {accuracy:.2%} on {len(labels)} test images "
          f"({len(skipped)} skipped); goal >= 91%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
