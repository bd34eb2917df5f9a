"""A venv of its own for a real other side that cannot share ours, made once and cached.

MediaPipe brings `opencv-contrib-python` (which must not share a venv with our `opencv-python`);
tflite-support pins protobuf 3.20 (which current TensorFlow refuses). Tests, benchmarks and
experiment scripts ask for such a tool's Python here, so each venv is made in one place:

    python = side_python("mediapipe")              # Path to that venv's python
    subprocess.run([python, "-c", "import mediapipe"], check=True)

The venvs live under `$TFEDGE_SIDE_VENVS` (default `~/.cache/tfedge/venvs`), one folder per tool
and pinned requirement set, so a changed pin makes a new venv and an old one is never half-updated.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

# The tools and their pinned requirements: one place for each fact.
SIDE_TOOLS: dict[str, tuple[str, ...]] = {
    "mediapipe": ("mediapipe==1.2.3",),
    "tflite-support": ("tflite-support==0.4.4",),
}


class SideVenvError(RuntimeError):
    """The side venv could not be made (no package index, no wheel for this Python...)."""


def venv_root() -> Path:
    return Path(os.environ.get("TFEDGE_SIDE_VENVS", Path.home() / ".cache" / "tfedge" / "venvs"))


def side_python(tool: str, base_python: str | None = None) -> Path:
    """The python of the cached venv for `tool` (a key of SIDE_TOOLS), made when missing."""
    requirements = SIDE_TOOLS[tool]
    digest = hashlib.sha256("\n".join(requirements).encode()).hexdigest()[:12]
    folder = venv_root() / f"{tool}-{digest}"
    python = folder / "bin" / "python"
    if (folder / ".complete").exists():
        return python
    # Made at its final path (a venv's scripts name their folder); `.complete` is written last, so
    # a run killed half-way leaves a folder that the next call removes and makes again.
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    base = base_python or shutil.which("python3") or sys.executable
    steps = [
        [base, "-m", "venv", str(folder)],
        [str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"],
        [str(python), "-m", "pip", "install", "-q", *requirements],
    ]
    for step in steps:
        result = subprocess.run(step, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            shutil.rmtree(folder, ignore_errors=True)
            tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise SideVenvError(f"making the {tool} venv failed at `{' '.join(step[1:4])}`: "
                                f"{tail[0]}")
    (folder / ".complete").write_text("\n".join(requirements) + "\n")
    return python


if __name__ == "__main__":  # python tests/side_venv.py mediapipe: make (or find) it, print its python
    for name in sys.argv[1:] or list(SIDE_TOOLS):
        print(side_python(name))
