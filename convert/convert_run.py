"""`tfedge convert` end to end: calibrate once, convert each mode, write, verify, one table."""

from __future__ import annotations

import time
from pathlib import Path

from tfedge.convert.calibration import calibration_pixels
from tfedge.convert.convert import convert
from tfedge.convert.edgetpu_compiler import READY_NAME, prepare_for_edgetpu
from tfedge.convert.metadata_writer import ModelInfo
from tfedge.convert.quantize import DEFAULT_CALIBRATION_IMAGES, Quantization
from tfedge.convert.run_folder import open_run
from tfedge.convert.variant_accuracy import format_table, keras_reference, verify_variant
from tfedge.edge.evaluation import labelled_items
from tfedge.edge.self_test import add_self_test
from tfedge.edge.tflite.flatbuffer import parse_tflite
from tfedge.edge.tflite.mediapipe_compat import mediapipe_problems
from tfedge.edge.tflite.metadata import read_standard_metadata
from tfedge.errors import AccuracyError
from tfedge.fileio import check_writable_parent, write_bytes_atomic
from tfedge.progress import progress
from tfedge.run_layout import tflite_name

ALL_MODES = [q.value for q in Quantization]


def convert_run(run_dir: str | Path, modes: list[str], calibration_images: int = DEFAULT_CALIBRATION_IMAGES,
                io_type: str = "uint8", verify: bool = True, max_drop: float | None = 1.0,
                out_dir: str | Path | None = None, verify_dir: str | Path | None = None,
                log=print, stream=None, rgb_input: bool = False,
                info: ModelInfo | None = None) -> list[dict]:
    """Convert a run folder to each mode; returns one row per written file.

    Args:
        run_dir: the folder `tfedge train --out` wrote.
        modes: quantization mode names (see Quantization); "edgetpu" also runs the preflight
            and, when installed, edgetpu_compiler.
        calibration_images: training images (stratified across classes) for full-integer modes,
            read once and shared by every mode.
        io_type: "uint8" or "int8" input and output of the full-integer modes.
        verify: measure each file on the run's validation images beside the Keras model.
        max_drop: percentage points a full-integer model may lose against the Keras model before
            AccuracyError (raised after every file is written and the table printed); None: no limit.
        out_dir: where to write the files (default: the run folder).
        verify_dir: measure on this labelled folder (one subfolder per label) instead of the
            run's validation images, e.g. a held-out test set.
        log: prints the table and notes; stream: where progress bars go (default stderr).
        rgb_input: give a gray model an RGB input (gray conversion inside the graph), so that
            MediaPipe Tasks and other RGB-only pipelines run it.
        info: the standard metadata's name, description, version, author, licence (each empty
            field from the run: see convert.default_info).
    """
    run = open_run(run_dir)
    if run.learning_warning:  # said before any file is written, so a useless model is not deployed unawares
        log(f"warning: {run.learning_warning}")
    out_dir = Path(out_dir) if out_dir is not None else run.path
    check_writable_parent(out_dir / tflite_name("float32"))
    quantizations = [Quantization(mode) for mode in dict.fromkeys(modes)]
    card = run.card.replace(provenance=dict(run.card.provenance, source_run=str(run.path.resolve())))
    pixels = None
    if any(q.needs_calibration for q in quantizations):
        pixels = calibration_pixels(run.items("train"), run.card, calibration_images, stream=stream)
        log(f"calibrating on {len(pixels)} training images, stratified across classes")
    if not verify:
        val_items = []
    elif verify_dir is not None:
        val_items = labelled_items(verify_dir, run.card.labels)
    else:
        val_items = run.items("val")
    reference = None
    if val_items and run.keras_model.exists():
        reference = keras_reference(run.keras_model, val_items, run.card)
    rows = []
    for quantization in quantizations:
        started = time.perf_counter()

        def calibration(label=quantization.value):
            return progress(pixels, len(pixels), f"calibrating {label}", stream)

        if quantization.needs_calibration:
            model = convert(run.saved_model, quantization,
                            card.replace(provenance=dict(card.provenance, calibration_images=len(pixels))),
                            calibration=calibration, io_type=io_type, info=info, rgb_input=rgb_input)
        else:
            model = convert(run.saved_model, quantization, card, info=info, rgb_input=rgb_input)
        model = add_self_test(model)
        seconds = time.perf_counter() - started
        name = READY_NAME if quantization is Quantization.EDGETPU else tflite_name(quantization.value)
        path = write_bytes_atomic(out_dir / name, model)
        _tell_mediapipe_problems(path.name, model, log)
        row = {"variant": quantization.value, "path": str(path), "bytes": len(model),
               "convert_seconds": seconds}
        if quantization is Quantization.EDGETPU:
            row["edgetpu"] = prepare_for_edgetpu(path, log=log)
        if val_items:
            row.update(verify_variant(path, val_items, reference))
        rows.append(row)
    log(format_table(rows))
    if val_items:
        where = f"images of {verify_dir}" if verify_dir is not None else "validation images of the run"
        keras_text = f" ({reference.accuracy * 100:.2f}%)" if reference is not None else ""
        log(f"accuracy on {rows[0].get('images', 0)} {where}, decoded and preprocessed as the device "
            f"does; 'vs keras': the Keras model{keras_text} on the same pixels")
    for row in rows:
        log(f"wrote {row['path']}")
    if max_drop is not None:
        _check_drop(rows, max_drop, len(pixels) if pixels is not None else 0)
    return rows


def _tell_mediapipe_problems(name: str, model: bytes, log) -> None:
    """Warn when a choice (a gray model, --io-type int8) makes a file MediaPipe Tasks cannot run."""
    problems = mediapipe_problems(parse_tflite(model), read_standard_metadata(model))
    if problems:
        log(f"warning: MediaPipe Tasks cannot run {name}: {'; '.join(problems)}")


def _check_drop(rows: list[dict], max_drop: float, calibrated_on: int) -> None:
    for row in rows:
        if not Quantization(row["variant"]).full_integer or "difference_pp" not in row:
            continue
        if -row["difference_pp"] > max_drop:
            raise AccuracyError(
                f"{row['variant']} lost {-row['difference_pp']:.2f} percentage points against the Keras "
                f"model (more than --max-drop {max_drop:g}; worst class {row['largest_drop_class']}); "
                f"tried: {calibrated_on} calibration images stratified across classes, per-channel "
                "weights, pixel scaling inside the model with uint8 input; you can try: more "
                "--calibration-images, more training data or epochs, --quant dynamic or float16, "
                "or a larger --max-drop to accept it (the file is written)")
