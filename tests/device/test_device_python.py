"""A fresh `pip install tfedge[tflite-runtime]` on the Pi's own Python, as a user types it.

On Python 3.12 or newer (Raspberry Pi OS trixie: 3.13) tflite-runtime has no wheels: pip must
install the extra without it (pyproject's environment marker), never stop with a resolution
error, and tfedge must then name [litert] in one line. The harness sets TFEDGE_DEVICE_WHEEL
(the project's wheel) and TFEDGE_DEVICE_WHEELHOUSE (the root's cached aarch64 wheels) on one
row per OS: installing numpy and OpenCV under QEMU takes a minute.
"""

import os
import subprocess
import sys

import pytest
from recording import model_path, source_path

WHEEL = os.environ.get("TFEDGE_DEVICE_WHEEL")
WHEELHOUSE = os.environ.get("TFEDGE_DEVICE_WHEELHOUSE")

pytestmark = [
    pytest.mark.skipif(not WHEEL, reason="fresh-install tests run on one row per OS (TFEDGE_DEVICE_WHEEL)"),
    pytest.mark.skipif(sys.version_info < (3, 12),
                       reason="Python 3.11 has tflite-runtime: the [tflite-runtime] venv is this test there"),
]


def test_tflite_runtime_extra_installs_without_it_and_tfedge_names_litert(tmp_path, fixtures):
    venv = tmp_path / "venv"
    subprocess.run([sys.base_prefix + "/bin/python3", "-m", "venv", str(venv)], check=True)
    install = subprocess.run([str(venv / "bin" / "pip"), "install", "--no-index", "--find-links",
                              WHEELHOUSE, f"{WHEEL}[tflite-runtime]"], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr
    assert "tflite-runtime" not in install.stdout.split("Successfully installed", 1)[-1]
    for backend, expected in (("tflite-runtime", "tflite-runtime has no build for Python 3."),
                              ("auto", "no TFLite interpreter could be imported")):
        command = [str(venv / "bin" / "tfedge"), "run", str(model_path(fixtures, "int8")),
                   "--source", str(source_path(fixtures, "video")), "--headless", "--backend", backend]
        run = subprocess.run(command, capture_output=True, text=True)
        assert run.returncode == 8, run.stderr
        assert run.stderr.count("\n") == 1 and expected in run.stderr
        assert 'pip install "tfedge[litert]"' in run.stderr
