"""Do tfedge's models travel? MediaPipe Tasks against tfedge, on the same files and images.

Usage: python benchmarks/metadata_interop.py [--work DIR] [--per-class N]

Prints, for each figure of issue 11:
  out: every variant of a run (Fashion-MNIST converted with --rgb-input, and a colour set)
       loads in MediaPipe Tasks' ImageClassifier with label names; MediaPipe's top-1 equals
       tfedge's (its device path, as `tfedge verify` runs it) on >= 99.5% of the images; the
       largest score difference of the uint8-output files is <= 1/255.
  in:  models from elsewhere (plain TFLiteConverter files, metadata written by tflite-support in
       its own venv, no labels.txt beside): tfedge's accuracy equals MediaPipe's within 0.5 pp
       for inputs in [0, 1], [-1, 1], 0..255 and uint8.
  hostile: crashes (anything but a one-line ModelError) over >= 500 damaged or hostile metadata
       files, through `inspect` and the device's card building; the slowest file's time.

Test images are at the models' input size (28x28), so the figures compare the model files and
their metadata, not MediaPipe's resizing with OpenCV's. MediaPipe (mediapipe 1.2.3) and
tflite-support (0.4.4) run in their cached side venvs (tests/side_venv.py); the Edge TPU compiler
is not installed here, so `edgetpu` is the Edge-TPU-ready file (the compiled file gets the same
metadata copied back: see convert/edgetpu_compiler.py). It takes about 2 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "train"))

from elsewhere_models import plain_model, with_tflite_support_metadata  # noqa: E402
from hostile_metadata import hostile_metadata_files  # noqa: E402
from mediapipe_side import compare  # noqa: E402
from synthetic_images import write_class_images  # noqa: E402

from tfedge.convert.calibration import calibration_pixels  # noqa: E402
from tfedge.convert.convert_run import ALL_MODES, convert_run  # noqa: E402
from tfedge.convert.run_folder import open_run  # noqa: E402
from tfedge.edge.model_file import card_from_interpreter, read_model_file  # noqa: E402
from tfedge.edge.tflite.flatbuffer import parse_tflite  # noqa: E402
from tfedge.edge.tflite.inspect import format_inspection, inspect_model, tensor_detail  # noqa: E402
from tfedge.errors import ModelError  # noqa: E402
from tfedge.train.fashion_mnist import export  # noqa: E402
from tfedge.train.fit import train  # noqa: E402
from tfedge.train.hparams import HParams  # noqa: E402


def _images(folder: Path) -> list[Path]:
    return sorted(folder.glob("*/*.png"))


def _out_direction(title: str, run: Path, test_dir: Path, rgb_input: bool, out: Path) -> bool:
    rows = convert_run(run, ALL_MODES, calibration_images=200, verify=False, out_dir=out,
                       rgb_input=rgb_input, log=lambda *_: None)
    images = _images(test_dir)
    print(f"\n{title}: {len(images)} test images, every variant")
    print(f"{'variant':10s} {'loads':>6s} {'named':>7s} {'top-1 agree':>12s} {'max |score diff|':>17s}")
    met = True
    for row in rows:
        result = compare(Path(row["path"]), images)
        if not result["loads"]:
            print(f"{row['variant']:10s} {'no':>6s}  {result['error']}")
            met = False
            continue
        uint8 = row["variant"] in ("int8", "edgetpu")
        diff = result["largest_score_difference"]
        note = " (uint8: <= 1/255 = 0.003922)" if uint8 else ""
        print(f"{row['variant']:10s} {'yes':>6s} {result['named'] * 100:6.1f}% "
              f"{result['agreement'] * 100:11.2f}% {diff:12.6f}{note}")
        met &= result["named"] == 1.0 and result["agreement"] >= 0.995
        met &= not uint8 or diff <= 1 / 255 + 1e-6
    return met


def _in_direction(run_dir: Path, test_dir: Path, out: Path) -> bool:
    run = open_run(run_dir)
    pixels = calibration_pixels(run.items("train"), run.card, 100)
    images = _images(test_dir)
    truth = [path.parent.name for path in images]
    print(f"\nmodels from elsewhere (tflite-support metadata, no labels.txt beside): {len(images)} images")
    print(f"{'input':8s} {'MediaPipe':>10s} {'tfedge':>8s} {'difference':>11s}")
    met = True
    for convention in ("0,1", "-1,1", "0,255", "uint8"):
        name = convention.replace(",", "_").replace("-", "m")
        plain = out / f"plain_{name}.tflite"
        plain.write_bytes(plain_model(run.saved_model, convention, pixels))
        (out / "elsewhere").mkdir(exist_ok=True)  # nothing else beside the files: no labels.txt
        model = with_tflite_support_metadata(plain, run.card.labels, out / "elsewhere" / f"{name}.tflite",
                                             convention)
        result = compare(model, images, truth)
        if not result["loads"]:
            print(f"{convention:8s} MediaPipe does not load it: {result['error']}")
            met = False
            continue
        difference = (result["tfedge_accuracy"] - result["mediapipe_accuracy"]) * 100
        print(f"{convention:8s} {result['mediapipe_accuracy'] * 100:9.2f}% "
              f"{result['tfedge_accuracy'] * 100:7.2f}% {difference:+9.2f} pp")
        met &= abs(difference) <= 0.5 and not result["tfedge_warnings"]
    return met


def _hostile(model: Path, work: Path) -> bool:
    cases = hostile_metadata_files(model.read_bytes())
    path = work / "hostile.tflite"
    crashes, errors, slowest = 0, 0, 0.0
    for data in cases:
        path.write_bytes(data)
        started = time.perf_counter()
        try:
            format_inspection(inspect_model(path, load_check=False))
            loaded = read_model_file(path)
            graph = parse_tflite(data).main
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                card_from_interpreter(loaded, tensor_detail(graph.tensors[graph.inputs[0]]),
                                      tensor_detail(graph.tensors[graph.outputs[0]]))
        except ModelError as error:
            errors += 1
            crashes += "\n" in str(error)
        except Exception as error:  # noqa: BLE001 - counting crashes is the point
            crashes += 1
            print(f"  crash: {type(error).__name__}: {error}")
        slowest = max(slowest, time.perf_counter() - started)
    print(f"\nhostile metadata: {len(cases)} files, {crashes} crashes, {errors} one-line errors, "
          f"{len(cases) - errors - crashes} reports with a card; slowest file {slowest * 1000:.0f} ms")
    return crashes == 0 and len(cases) >= 500


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None, help="working folder (default: a temp one)")
    parser.add_argument("--per-class", type=int, default=100,
                        help="Fashion-MNIST images per class in each split (default 100: 1,000 test images)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="tfedge-interop-"))
    started = time.perf_counter()
    fashion = work / "fashion"
    if not fashion.exists():
        export(fashion, limit_per_class=args.per_class)
    fashion_run = work / "runs" / "fashion"
    if not fashion_run.exists():
        train(fashion / "train", fashion_run, HParams(epochs=3, batch_size=32), log=lambda *_: None)
    colour = work / "colour"
    for split, count, seed in (("train", 40, 0), ("test", 100, 1)):
        for pattern in range(4):
            write_class_images(colour / split / f"class_{pattern}", count, pattern, size=28, seed=seed)
    colour_run = work / "runs" / "colour"
    if not colour_run.exists():
        train(colour / "train", colour_run, HParams(epochs=3, batch_size=16), log=lambda *_: None)
    results = {
        "Fashion-MNIST (--rgb-input)": _out_direction("Fashion-MNIST run converted with --rgb-input",
                                                      fashion_run, fashion / "test", True, work / "rgb"),
        "colour set": _out_direction("colour set (synthetic, 4 classes, 28x28 RGB)", colour_run,
                                     colour / "test", False, work / "colour_models"),
        "models from elsewhere": _in_direction(fashion_run, fashion / "test", work),
        "hostile metadata": _hostile(work / "rgb" / "model_int8.tflite", work),
    }
    print()
    for name, met in results.items():
        print(f"goal {'met' if met else 'NOT met'}: {name}")
    print(f"(took {time.perf_counter() - started:.0f} s; work folder {work})")
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
