"""Why a naive int8 conversion loses accuracy, and what tfedge does instead: side by side.

Usage: python benchmarks/convert_int8_gap.py RUN_DIR TEST_DIR
  RUN_DIR: a run folder from `tfedge train` (e.g. small_cnn on `tfedge data fashion-mnist`)
  TEST_DIR: held-out images, one folder per class (e.g. fashion/test: all 10,000 images)

Every model below comes from the same trained Keras model and is measured on the same pixels
(decoded and resized by tfedge.edge.preprocess, as the device does), with the LiteRT interpreter.
Recipes:
  naive         scaling (x / 255) outside the model, the user's own preprocessing; the first 100
                training files as listed (sorted folders: one or two classes) calibrate
  naive, 500    scaling outside, 500 calibration images stratified across classes
  tfedge, 100   scaling inside the model (uint8 input, scale 1), the first 100 files as listed
  tfedge        tfedge's default: scaling inside, 500 images stratified across classes
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from tfedge.convert.calibration import stratified_sample  # noqa: E402
from tfedge.convert.quantize import representative_dataset  # noqa: E402
from tfedge.convert.run_folder import open_run  # noqa: E402
from tfedge.edge.evaluation import labelled_items  # noqa: E402
from tfedge.edge.interpreter import make_interpreter  # noqa: E402
from tfedge.edge.labelled import load_pixels  # noqa: E402


def accuracy_of_tflite(model: bytes, pixels: np.ndarray, labels: np.ndarray, scale_outside: bool) -> float:
    """Top-1 accuracy; inputs are quantized with the model's own input scale and zero point."""
    interpreter, _ = make_interpreter(model, num_threads=1)
    detail, output = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    values = pixels.astype(np.float32) / 255.0 if scale_outside else pixels.astype(np.float32)
    scale, zero_point = detail["quantization"]
    if detail["dtype"] in (np.uint8, np.int8):
        info = np.iinfo(detail["dtype"])
        values = np.clip(np.round(values / scale + zero_point), info.min, info.max)
    values = values.astype(detail["dtype"])
    predicted = np.empty(len(pixels), dtype=np.int64)
    for i in range(len(pixels)):
        interpreter.set_tensor(detail["index"], values[i:i + 1])
        interpreter.invoke()
        predicted[i] = int(np.argmax(interpreter.get_tensor(output["index"])[0]))
    return float(np.mean(predicted == labels))


def convert_keras(tf, model, calibration: np.ndarray | None, scale_outside: bool,
                  per_tensor: bool = False) -> bytes:
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if per_tensor:  # what TensorFlow did before per-channel weights became the default
        converter._experimental_disable_per_channel = True
    if calibration is not None:
        images = calibration.astype(np.float32) / 255.0 if scale_outside else calibration
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative_dataset(lambda: iter(images))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.uint8
    return converter.convert()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("test_dir", type=Path)
    args = parser.parse_args(argv)

    import keras
    import tensorflow as tf

    run = open_run(args.run_dir)
    test_pixels, test_labels, _ = load_pixels(labelled_items(args.test_dir, run.card.labels), run.card)
    train_items = run.items("train")
    as_listed = load_pixels(sorted(train_items, key=lambda item: str(item[0]))[:100], run.card)
    stratified = load_pixels(stratified_sample(train_items, 500), run.card)
    first_classes = sorted({run.card.labels[i] for i in as_listed[1]})

    model = keras.models.load_model(str(run.keras_model), compile=False)
    # the same trained weights without the in-graph scaling: what a user who scales outside has
    outside = keras.Model(model.get_layer("pixel_scaling").output, model.output)
    keras_accuracy = float(np.mean(np.argmax(model.predict(test_pixels.astype(np.float32), batch_size=500,
                                                            verbose=0), -1) == test_labels))
    print(f"{len(test_labels)} test images; Keras model {keras_accuracy * 100:.2f}%; "
          f"the first 100 training files as listed are all from {', '.join(first_classes)}")
    noise = np.random.default_rng(0).integers(0, 256, size=(100, *test_pixels.shape[1:]), dtype=np.uint8)
    recipes = [
        ("float32 (no quantization)", model, None, False, False),
        ("naive int8: scaling outside, first 100 files", outside, as_listed[0], True, False),
        ("  ... and per-tensor weights", outside, as_listed[0], True, True),
        ("int8: scaling outside, 100 random-noise images", outside, noise, True, False),
        ("int8: scaling outside, 10 stratified", outside, stratified[0][:10], True, False),
        ("int8: scaling outside, 500 stratified", outside, stratified[0], True, False),
        ("int8: scaling inside, first 100 files", model, as_listed[0], False, False),
        ("int8: scaling inside, 500 stratified, per-tensor", model, stratified[0], False, True),
        ("tfedge default int8: scaling inside, 500 stratified", model, stratified[0], False, False),
    ]
    print(f"{'recipe':52s} {'accuracy':>9s} {'vs float32':>11s} {'convert s':>9s}  input scale, zero point")
    float_accuracy = None
    for name, keras_model, calibration, scale_outside, per_tensor in recipes:
        started = time.perf_counter()
        with warnings.catch_warnings():  # "Statistics for quantized inputs were expected": not ours
            warnings.simplefilter("ignore")
            tflite = convert_keras(tf, keras_model, calibration, scale_outside, per_tensor)
        seconds = time.perf_counter() - started
        accuracy = accuracy_of_tflite(tflite, test_pixels, test_labels, scale_outside)
        float_accuracy = accuracy if float_accuracy is None else float_accuracy
        interpreter, _ = make_interpreter(tflite)
        scale, zero_point = interpreter.get_input_details()[0]["quantization"]
        print(f"{name:52s} {accuracy * 100:8.2f}% {(accuracy - float_accuracy) * 100:+9.2f} pp "
              f"{seconds:9.1f}  {scale:.6g}, {zero_point}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
