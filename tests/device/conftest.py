"""The device suite: runs inside the emulated Raspberry Pi (make test-pi), against x86 references.

Environment (set by scripts/pi/test_pi.py):
  TFEDGE_DEVICE_FIXTURES  folder made by scripts/pi/fixtures.py on x86 (models, video, folder,
                          reference outputs); without it this folder is not collected
  TFEDGE_DEVICE_BACKEND   the interpreter this venv must use: litert or tflite-runtime
  TFEDGE_DEVICE_RESULTS   optional folder where measured differences are written as JSON
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

# On the desktop (`make test`) there is nothing to compare with: make test-pi runs this folder.
collect_ignore_glob = [] if os.environ.get("TFEDGE_DEVICE_FIXTURES") else ["test_*.py"]


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return Path(os.environ["TFEDGE_DEVICE_FIXTURES"])


@pytest.fixture(scope="session")
def x86_facts(fixtures) -> dict:
    return json.loads((fixtures / "reference" / "x86.json").read_text())


@pytest.fixture(scope="session")
def backend() -> str:
    return os.environ.get("TFEDGE_DEVICE_BACKEND", "auto")


class Results:
    """Measured figures, merged into TFEDGE_DEVICE_RESULTS/device.json for the harness's report."""

    def __init__(self, folder: str | None) -> None:
        self.path = Path(folder) / "device.json" if folder else None

    def record(self, key: str, value) -> None:
        if self.path is None:
            return
        data = json.loads(self.path.read_text()) if self.path.exists() else {}
        data[key] = value
        self.path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


@pytest.fixture(scope="session")
def results() -> Results:
    return Results(os.environ.get("TFEDGE_DEVICE_RESULTS"))
