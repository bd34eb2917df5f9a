"""tfedge[tflite-runtime] on Python 3.12 or newer (Raspberry Pi OS trixie has 3.13): pip installs
it without an interpreter (an environment marker, never a resolution error) and tfedge then
names [litert] in one line. make test-pi installs it for real on the emulated trixie
(tests/device/test_device_python.py)."""

import sys
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement

from tfedge.edge import interpreter
from tfedge.errors import DependencyError, ExitCode
from tfedge.main import main

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def installed_names(extra: str, python: str) -> set[str]:
    """What pip installs for `tfedge[extra]` on an aarch64 Linux with this Python (names only)."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    environment = {"python_version": python, "python_full_version": f"{python}.0",
                   "platform_machine": "aarch64", "sys_platform": "linux", "extra": extra}
    requirements = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"][extra]]
    return {f"{r.name}{r.specifier}" if r.name == "numpy" else r.name for r in requirements
            if r.marker is None or r.marker.evaluate(environment)}


@pytest.mark.parametrize("python", ["3.9", "3.10", "3.11"])
def test_the_extra_brings_tflite_runtime_and_numpy_1_up_to_python_311(python):
    assert {"tflite-runtime", "numpy<2"} <= installed_names("tflite-runtime", python)


@pytest.mark.parametrize("python", ["3.12", "3.13", "3.14"])
def test_the_extra_asks_for_nothing_pip_cannot_find_on_newer_pythons(python):
    names = installed_names("tflite-runtime", python)
    assert "tflite-runtime" not in names and "numpy<2" not in names
    assert "ai-edge-litert" in installed_names("litert", python)  # the extra that works there


def test_the_line_names_litert_from_python_312_on():
    assert interpreter.tflite_runtime_unsupported((3, 11, 2)) is None
    line = interpreter.tflite_runtime_unsupported((3, 13, 5))
    assert "Python 3.13" in line and '"tfedge[litert]"' in line and "\n" not in line


@pytest.fixture
def python_without_tflite_runtime(monkeypatch):
    """This Python as if it were 3.12 or newer: tflite-runtime unsupported and not importable."""
    older = (sys.version_info[0], sys.version_info[1] - 1)
    monkeypatch.setattr(interpreter, "TFLITE_RUNTIME_LAST_PYTHON", older)
    monkeypatch.setitem(sys.modules, "tflite_runtime", None)
    monkeypatch.setitem(sys.modules, "tflite_runtime.interpreter", None)


def test_asking_for_tflite_runtime_names_litert(python_without_tflite_runtime):
    with pytest.raises(DependencyError, match=r'no build for Python .*pip install "tfedge\[litert\]"'):
        interpreter.resolve_backend("tflite-runtime")


def test_auto_skips_it_and_says_why_when_nothing_imports(python_without_tflite_runtime, monkeypatch):
    for module in ("ai_edge_litert", "ai_edge_litert.interpreter", "tensorflow",
                   "tensorflow.lite.python.interpreter"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(DependencyError) as raised:
        interpreter.resolve_backend("auto")
    assert "tflite-runtime: tflite-runtime has no build for Python" in str(raised.value)
    assert str(raised.value).endswith('install one: pip install "tfedge[litert]"')


def test_the_command_stops_with_one_line_and_exit_8(python_without_tflite_runtime, tflite_models, tmp_path,
                                                    capsys):
    code = main(["run", str(tflite_models["int8"]), "--source", str(tmp_path / "video.mp4"), "--headless",
                 "--backend", "tflite-runtime"])
    error = capsys.readouterr().err
    assert code == ExitCode.DEPENDENCY == 8
    assert error.count("\n") == 1 and "tfedge[litert]" in error
