"""`tfedge convert` end to end: calibrate once, convert each mode, write, verify, report."""

from __future__ import annotations

from pathlib import Path

from tfedge.convert.calibration import calibration_pixels
from tfedge.convert.convert import convert
from tfedge.convert.quantize import Quantization
from tfedge.convert.run_folder import open_run
from tfedge.edge.classify import Classifier
from tfedge.edge.evaluate import evaluate
from tfedge.fileio import write_bytes_atomic
from tfedge.run_layout import tflite_name


def convert_run(run_dir: str | Path, modes: list[str], calibration_images: int = 500,
                verify: bool = True, log=print) -> list[dict]:
    """Convert a run folder to each mode; returns one row per written file."""
    run = open_run(run_dir)
    quantizations = [Quantization(mode) for mode in modes]
    pixels = None
    if any(q.needs_calibration for q in quantizations):
        pixels = calibration_pixels(run.items("train"), run.card, calibration_images)
        log(f"calibrating on {len(pixels)} training images, stratified across classes")
    rows = []
    for quantization in quantizations:
        model = convert(run.saved_model, quantization, run.card, calibration=lambda: iter(pixels))
        path = write_bytes_atomic(run.path / tflite_name(quantization.value), model)
        row = {"variant": quantization.value, "path": str(path), "bytes": len(model)}
        if verify and run.items("val"):
            evaluation = evaluate(Classifier(path), run.items("val"), run.card.labels)
            row.update(accuracy=evaluation.accuracy, mean_inference_ms=evaluation.mean_inference_ms,
                       images=len(evaluation.true))
        rows.append(row)
        log(_format_row(row))
    return rows


def _format_row(row: dict) -> str:
    text = f"{row['variant']:8s} {row['bytes'] / 1024:8.1f} KiB  {row['path']}"
    if "accuracy" in row:
        text += (f"  accuracy {row['accuracy'] * 100:.2f}% on {row['images']} validation images,"
                 f" {row['mean_inference_ms']:.2f} ms/image")
    return text
