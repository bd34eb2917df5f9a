"""A model that tests itself: a few regenerable inputs and the scores the desktop gave for them.

`tfedge convert` runs the reference interpreter on `count` frames made by `self_test_frames`
and stores their scores in the card (`ModelCard.self_test`, see tfedge.edge.card). Any device
regenerates the same frames, classifies them through its own preprocessing and interpreter,
and compares: the same top-1 label (where the desktop's margin between its two best classes is
wider than twice the tolerance: both may move), and every score within `SCORE_TOLERANCE` of
the desktop's.

The generator (documented so any other tool can rebuild the inputs): for frame i, the bytes
`hashlib.shake_256(f"tfedge-self-test:{seed}:{i}".encode()).digest(h * w * 3)` are a BGR uint8
frame of the model's input size, row-major (height, width, channel). The frames are noise:
they test that this interpreter computes what the desktop's did, not that the model is right.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from tfedge.edge.digests import shake_256
from tfedge.errors import AccuracyError, ModelError

DEFAULT_SEED = 0
DEFAULT_COUNT = 4
MAX_INPUTS = 32  # a card asking for more is refused before any input is made
# How far a device's scores may be from the desktop's: optimized int8 kernels round differently
# on Arm and x86 (measured under emulation by `make test-pi`: up to 1 output step of 1/256 with
# ai-edge-litert, up to 4 with tflite-runtime; tests/device/agreement.py allows 6); float32
# differs in the last bits, and printed scores are rounded to 4 digits. The one place for both.
INT8_RUNTIME_STEPS = 6
SCORE_TOLERANCE = {"int8": INT8_RUNTIME_STEPS / 256 + 1e-4, "float32": 1.5e-4}
# Not measured under emulation: float16 runs float32 kernels on dequantized weights, dynamic
# quantizes activations on the fly, so both get the int8 tolerance.
_TOLERANCE_OF = {"float32": "float32", "float16": "int8", "dynamic": "int8", "int8": "int8",
                 "edgetpu": "int8"}


def tolerance_for(quantization: str | None) -> float:
    """The score tolerance of a model quantized as `quantization` (unknown: the int8 one)."""
    return SCORE_TOLERANCE[_TOLERANCE_OF.get(quantization or "", "int8")]


def self_test_frames(seed: int, count: int, input_size: tuple[int, int]) -> np.ndarray:
    """The `count` BGR uint8 frames of the documented generator, shape (count, h, w, 3)."""
    height, width = int(input_size[0]), int(input_size[1])
    frames = [np.frombuffer(shake_256(f"tfedge-self-test:{seed}:{i}".encode(), height * width * 3),
                            dtype=np.uint8).reshape(height, width, 3) for i in range(count)]
    return np.stack(frames) if frames else np.zeros((0, height, width, 3), np.uint8)


def reference_scores(classifier, seed: int = DEFAULT_SEED, count: int = DEFAULT_COUNT) -> dict:
    """The card's `self_test` entry: what `classifier` (the desktop's interpreter) gives."""
    frames = self_test_frames(seed, count, classifier.card.input_size)
    scores = [[round(float(s), 6) for s in classifier.classify(frame).scores] for frame in frames]
    return {"seed": seed, "count": count, "generator": "shake_256 v1", "scores": scores}


@dataclass
class SelfTestResult:
    """What a self-test found: `passed`, the largest score difference, and how long it took."""

    passed: bool
    frames: int
    max_difference: float
    tolerance: float
    milliseconds: float
    problem: str | None = None


def run_self_test(classifier) -> SelfTestResult | None:
    """Run the self-test in `classifier.card`; None when the card has none."""
    entry = classifier.card.self_test
    if not entry:
        return None
    started = time.perf_counter()
    tolerance = tolerance_for(classifier.card.quantization)
    try:
        expected = np.asarray(entry["scores"], dtype=np.float64)
        count = int(entry["count"])
        if not 0 < count <= MAX_INPUTS or expected.ndim != 2 or len(expected) != count:
            raise ValueError(f"{count} inputs, scores of shape {expected.shape}; at most {MAX_INPUTS}")
        frames = self_test_frames(int(entry["seed"]), count, classifier.card.input_size)
    except (KeyError, TypeError, ValueError, OverflowError) as error:
        raise ModelError(f"{classifier.model.path}: the card's self-test is malformed ({error})") from None
    labels = len(classifier.labels)
    if entry.get("generator") != "shake_256 v1" or expected.shape != (len(frames), labels):
        raise ModelError(f"{classifier.model.path}: the card's self-test does not fit this model "
                         f"({expected.shape} scores for {len(frames)} inputs, {labels} labels)")
    worst, problem = 0.0, None
    for i, frame in enumerate(frames):
        got = np.asarray(classifier.classify(frame).scores, dtype=np.float64)
        difference = float(np.max(np.abs(got - expected[i])))
        worst = max(worst, difference)
        best_two = np.sort(expected[i])[-2:] if expected.shape[1] > 1 else np.array([0.0, 1.0])
        if problem is None and difference > tolerance:
            problem = f"input {i}: scores differ by up to {difference:.4f} (tolerance {tolerance:.4f})"
        elif (problem is None and best_two[1] - best_two[0] > 2 * tolerance
              and int(np.argmax(got)) != int(np.argmax(expected[i]))):
            problem = (f"input {i}: top-1 is {classifier.label_of(int(np.argmax(got)))!r}, the desktop "
                       f"gave {classifier.label_of(int(np.argmax(expected[i])))!r}")
    milliseconds = (time.perf_counter() - started) * 1000.0
    return SelfTestResult(problem is None, len(frames), worst, tolerance, milliseconds, problem)


def check_self_test(classifier) -> SelfTestResult | None:
    """`run_self_test`, raising AccuracyError (exit code 7) when it fails."""
    result = run_self_test(classifier)
    if result is not None and not result.passed:
        raise AccuracyError(f"{classifier.model.path}: self-test failed: {result.problem}; this "
                            "device does not compute what the desktop did: the file is damaged or "
                            "was changed, or this interpreter differs; convert it again")
    return result


def add_self_test(model: bytes, seed: int = DEFAULT_SEED, count: int = DEFAULT_COUNT) -> bytes:
    """`model` (a .tflite carrying our card) with the self-test of this interpreter in its card."""
    from pathlib import Path

    from tfedge.edge.card import embed_card, read_embedded_card
    from tfedge.edge.classify import Classifier
    from tfedge.edge.model_file import ModelFile

    card = read_embedded_card(model)
    if card is None:
        raise ModelError("the converted model carries no card to add a self-test to")
    classifier = Classifier(ModelFile(Path("converted.tflite"), model, card))
    return embed_card(model, card.replace(self_test=reference_scores(classifier, seed, count)))


def describe_self_test(entry: dict | None) -> str:
    """One line on a card's self-test (for `tfedge inspect`)."""
    if not entry:
        return "none (run it again through tfedge convert to add one)"
    scores = entry.get("scores")
    fits = isinstance(scores, list) and len(scores) == entry.get("count")
    return (f"{entry.get('count')} inputs ({entry.get('generator')}, seed {entry.get('seed')}) with the "
            f"desktop's scores; run it with: tfedge verify --self-test MODEL"
            + ("" if fits else " (malformed: scores do not match count)"))
