"""The x86 side of `make test-pi`: models, a short real video, a labelled folder, reference outputs.

Runs in the desktop venv (TensorFlow present). The models are the main test suite's own: the
`tflite_models` fixture converts them and copies them to $TFEDGE_EXPORT_TEST_MODELS, so this
script runs that part of the suite unless --models names a folder that already holds them.
The reference is what x86 computes for every frame: input tensors, raw output tensors,
`tfedge run --headless` lines and accuracy; the emulated Pi must reproduce it.

    python scripts/pi/fixtures.py --out build/pi/fixtures [--models DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "device"))
sys.path.insert(0, str(REPO / "tests"))  # labelled_video, the tests' helper

import numpy as np  # noqa: E402
from recording import (  # noqa: E402
    FOLDER_NAME,
    MODELS_NAME,
    QUANTS,
    REFERENCE_NAME,
    SOURCES,
    VIDEO_NAME,
    folder_accuracy,
    input_tensors,
    model_path,
    raw_outputs,
    reference_file,
    reference_kernels,
    source_path,
)

IMAGES_PER_CLASS = 2  # few frames: emulated SIMD code runs 100-300x slower than native
MODEL_TEST = "tests/pi/test_device_models.py"


def export_models(out: Path, given: Path | None) -> None:
    out.mkdir(parents=True)
    names = [f"model_{quant}.tflite" for quant in QUANTS]
    if given and all((given / name).exists() for name in names):
        for name in names:
            shutil.copy(given / name, out / name)
        return
    env = {**os.environ, "TFEDGE_EXPORT_TEST_MODELS": str(out)}
    env.pop("TFEDGE_TEST_MODELS", None)
    with tempfile.TemporaryDirectory(prefix="tfedge-pi-models-") as basetemp:
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        f"--basetemp={basetemp}", MODEL_TEST], cwd=REPO, env=env, check=True)
    missing = [name for name in names if not (out / name).exists()]
    if missing:
        raise SystemExit(f"{MODEL_TEST} did not export {', '.join(missing)}")


def export_images(out: Path) -> None:
    from labelled_video import write_labelled_video

    from tfedge.edge.labelled import list_classes
    from tfedge.train.fashion_mnist import export

    with tempfile.TemporaryDirectory(prefix="tfedge-pi-data-") as scratch:
        export(Path(scratch) / "fashion", limit_per_class=IMAGES_PER_CLASS)
        shutil.copytree(Path(scratch) / "fashion" / "test", out / FOLDER_NAME)
    items = [(path, label) for label, paths in sorted(list_classes(out / FOLDER_NAME).items())
             for path in paths]
    items.sort(key=lambda item: item[0].name)
    write_labelled_video(items, out / VIDEO_NAME, frames_per_image=1)


def tfedge(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tfedge", *args], capture_output=True, text=True,
                          check=False)


def headless_frames(stdout: str) -> list[dict]:
    """The per-frame lines of `tfedge run --headless`, without the timing fields."""
    lines = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return [{k: line[k] for k in ("frame", "label", "score")} for line in lines if "summary" not in line]


def record_reference(out: Path) -> dict:
    from tfedge.edge.classify import Classifier
    from tfedge.main import COMMANDS

    facts: dict = {"machine": platform.machine(), "python": platform.python_version(),
                   "numpy": np.__version__, "verify": {}, "accuracy": {}}
    (out / REFERENCE_NAME).mkdir()
    for quant in QUANTS:
        classifier = Classifier(model_path(out, quant))
        facts["backend"] = str(classifier.backend)
        for source in SOURCES:
            inputs = input_tensors(classifier, source_path(out, source))
            np.save(reference_file(out, quant, source, "inputs"), inputs)
            np.save(reference_file(out, quant, source, "raw"), raw_outputs(classifier.interpreter, inputs))
            np.save(reference_file(out, quant, source, "raw_reference"),
                    raw_outputs(reference_kernels(classifier), inputs))
            run = tfedge("run", str(model_path(out, quant)), "--source", str(source_path(out, source)),
                         "--headless", "--backend", classifier.backend.name)
            if run.returncode != 0:
                raise SystemExit(f"x86 tfedge run failed: {run.stderr.strip()}")
            frames = headless_frames(run.stdout)
            reference_file(out, quant, source, "run").write_text(
                "".join(json.dumps(frame) + "\n" for frame in frames))
        facts["accuracy"][quant] = folder_accuracy(classifier, out / FOLDER_NAME)
        if "verify" in COMMANDS:
            result = tfedge("verify", str(model_path(out, quant)), str(out / FOLDER_NAME))
            facts["verify"][quant] = {"exit_code": result.returncode, "stdout": result.stdout}
    return facts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to (re)create")
    parser.add_argument("--models", type=Path, default=None,
                        help="folder already holding model_float32.tflite and model_int8.tflite")
    args = parser.parse_args()
    staging = args.out.with_name(args.out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    export_models(staging / MODELS_NAME, args.models)
    export_images(staging)
    facts = record_reference(staging)
    (staging / REFERENCE_NAME / "x86.json").write_text(json.dumps(facts, indent=1) + "\n")
    shutil.rmtree(args.out, ignore_errors=True)
    staging.rename(args.out)
    print(f"fixtures: {args.out} (x86 reference with {facts['backend']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
