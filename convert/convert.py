"""SavedModel to .tflite bytes (with the card embedded); writing is the caller's, atomic, job."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from tfedge import __version__
from tfedge.convert.metadata_writer import ModelInfo, embed_metadata
from tfedge.convert.quantize import CONFIGURE, Quantization
from tfedge.convert.rgb_input import repeat_to_rgb, rgb_to_gray_function
from tfedge.edge.card import ModelCard
from tfedge.errors import ModelError


def source_hash(saved_model: Path) -> str:
    """sha256 (first 16 hex digits) of the SavedModel's graph and variables."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(saved_model).rglob("*") if p.is_file()):
        digest.update(path.relative_to(saved_model).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _serving_function(tf, saved_model: Path, batch_size: int | None, rgb_input: bool = False):
    """The SavedModel's serving signature (loaded), checked to take one image tensor; with
    `rgb_input`, a one-channel model behind an RGB-to-gray conversion (see convert.rgb_input)."""
    try:
        loaded = tf.saved_model.load(str(saved_model))
    except (OSError, ValueError, RuntimeError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelError(f"{saved_model}: cannot be loaded as a SavedModel ({first_line}); give "
                         "the folder `tfedge train --out` wrote") from None
    signatures = getattr(loaded, "signatures", {})
    if "serving_default" not in signatures:
        raise ModelError(f"{saved_model}: the SavedModel has no serving_default signature; export "
                         "it with model.export(...)")
    function = signatures["serving_default"]
    specs = list(function.structured_input_signature[1].values())
    shape = specs[0].shape if len(specs) == 1 else None
    if shape is None or shape.rank != 4 or shape[-1] not in (1, 3):
        described = [str(s.shape) for s in specs]
        raise ModelError(f"{saved_model}: the model's input {', '.join(described) or 'is missing'} "
                         "is not one image (expected [batch, height, width, 1 or 3]); tfedge "
                         "converts image classifiers only")
    name = next(iter(function.structured_input_signature[1]))
    if rgb_input:
        if shape[-1] != 1:
            raise ModelError(f"{saved_model}: --rgb-input is for one-channel (gray) models, and this "
                             "model already takes 3 channels; convert it without --rgb-input")
        return loaded, rgb_to_gray_function(tf, function, name, shape, specs[0].dtype,
                                            batch_size if batch_size is not None else shape[0])
    if batch_size is None:
        return loaded, function
    fixed = tf.TensorSpec([batch_size, *shape[1:]], specs[0].dtype, name=name)
    static = tf.function(lambda pixels: function(**{name: pixels}), input_signature=[fixed])
    return loaded, static.get_concrete_function()


def convert(saved_model: str | Path, mode: Quantization, card: ModelCard,
            calibration: Callable[[], Iterable[np.ndarray]] | None = None,
            io_type: str = "uint8", info: ModelInfo | None = None, rgb_input: bool = False) -> bytes:
    """Convert a SavedModel to .tflite bytes that carry `card` (updated with mode and hashes) and
    standard TFLite metadata (`info`: name, description, version, author, licence).

    Args:
        saved_model: folder of a TensorFlow SavedModel with a serving_default signature.
        mode: the quantization mode.
        card: the run's card; the copy embedded records mode, io type, version and source hash.
        calibration: returns an iterable of uint8 pixel arrays (H, W, C); full-integer modes only.
        io_type: "uint8" or "int8" input and output for the full-integer modes.
        info: the metadata's model facts (default: from the card).
        rgb_input: give a one-channel model an RGB input, converted to gray inside the graph
            (for MediaPipe Tasks and other RGB-only pipelines); the card then says RGB.
    """
    import tensorflow as tf

    saved_model = Path(saved_model)
    if mode.needs_calibration and calibration is None:
        raise ValueError(f"{mode.value} needs calibration images")
    # the Edge TPU compiler needs static shapes: batch 1, not the SavedModel's dynamic batch
    loaded, function = _serving_function(tf, saved_model, 1 if mode is Quantization.EDGETPU else None,
                                         rgb_input)
    if rgb_input:
        calibration = repeat_to_rgb(calibration) if calibration is not None else None
        card = card.replace(color_order="RGB", provenance=dict(
            card.provenance, rgb_input="gray model; RGB to gray (BT.601) inside the graph"))
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function], loaded)
    CONFIGURE[mode](tf, converter, calibration, io_type)
    try:
        model = converter.convert()
    except Exception as error:  # noqa: BLE001 - the converter raises ConverterError, RuntimeError, ...
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelError(f"{saved_model}: the TFLite converter failed for {mode.value} "
                         f"({first_line})") from None
    provenance = dict(card.provenance, tfedge_version=__version__,
                      source_model_sha256=source_hash(saved_model))
    if mode.full_integer:
        provenance["io_type"] = io_type
    card = card.replace(quantization=mode.value, provenance=provenance)
    return embed_metadata(model, card, _with_defaults(info, default_info(card)))


def _with_defaults(info: ModelInfo | None, default: ModelInfo) -> ModelInfo:
    if info is None:
        return default
    return ModelInfo(**{f.name: getattr(info, f.name) or getattr(default, f.name)
                        for f in dataclasses.fields(ModelInfo)})


def default_info(card: ModelCard) -> ModelInfo:
    """Metadata model facts from a card: the run's name, a description of what it classifies."""
    provenance = card.provenance
    return ModelInfo(
        name=str(provenance.get("run") or "tfedge image classifier"),
        description=f"Image classifier of {len(card.labels)} classes ({', '.join(card.labels[:10])}"
                    f"{', ...' if len(card.labels) > 10 else ''}), {card.backbone}, {card.quantization}; "
                    "made with tfedge",
        version=str(provenance.get("source_model_sha256") or ""),
        author="", license="")
