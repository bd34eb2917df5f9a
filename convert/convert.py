"""SavedModel to .tflite bytes (with the card embedded); writing is the caller's, atomic, job."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from tfedge import __version__
from tfedge.convert.quantize import CONFIGURE, Quantization
from tfedge.edge.card import ModelCard, embed_card
from tfedge.errors import ModelError


def source_hash(saved_model: Path) -> str:
    """sha256 (first 16 hex digits) of the SavedModel's graph and variables."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(saved_model).rglob("*") if p.is_file()):
        digest.update(path.relative_to(saved_model).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def convert(saved_model: str | Path, mode: Quantization, card: ModelCard,
            calibration: Callable[[], Iterable[np.ndarray]] | None = None) -> bytes:
    """Convert a SavedModel to .tflite bytes that carry `card` (updated with mode and hashes)."""
    import tensorflow as tf

    saved_model = Path(saved_model)
    if mode.needs_calibration and calibration is None:
        raise ValueError(f"{mode.value} needs calibration images")
    try:
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    except (OSError, ValueError, RuntimeError) as error:
        raise ModelError(f"{saved_model}: cannot be loaded as a SavedModel ({error})") from None
    CONFIGURE[mode](tf, converter, calibration)
    model = converter.convert()
    provenance = dict(card.provenance, tfedge_version=__version__,
                      source_model_sha256=source_hash(saved_model))
    return embed_card(model, card.replace(quantization=mode.value, provenance=provenance))
