"""Every exit code comes from tfedge.errors.ExitCode, and README's table documents exactly those."""

import importlib.util
import re
import sys
from pathlib import Path

import pytest

import tfedge.errors as errors
from tfedge.errors import ExitCode, TfedgeError
from tfedge.main import main

REPO = Path(__file__).resolve().parents[1]


def readme_exit_codes() -> dict[int, str]:
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Exit codes\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| (.+) \|$", section, re.MULTILINE)
    return {int(code): meaning for code, meaning in rows}


def test_readme_documents_every_exit_code_and_no_other():
    documented = readme_exit_codes()
    assert sorted(documented) == sorted(code.value for code in ExitCode)
    assert documented[ExitCode.INTERRUPTED].startswith("interrupted")
    assert documented[ExitCode.DEPENDENCY].startswith("missing dependency")


def test_each_error_class_has_its_own_code_from_the_enum():
    classes = [value for value in vars(errors).values()
               if isinstance(value, type) and issubclass(value, TfedgeError) and value is not TfedgeError]
    codes = [cls.exit_code for cls in classes]
    assert all(isinstance(code, ExitCode) for code in [*codes, TfedgeError.exit_code])
    assert len(set(codes)) == len(codes) == 8
    assert set(ExitCode) - set(codes) == {ExitCode.OK, ExitCode.INTERNAL, ExitCode.INTERRUPTED}


def test_the_pi_harness_code_is_the_enum_s_read_without_tfedge_installed(monkeypatch):
    """scripts/pi/emulation.py loads common/errors.py by path (its preflight runs before install)."""
    path = REPO / "scripts" / "pi" / "emulation.py"
    spec = importlib.util.spec_from_file_location("emulation_under_test", path)
    emulation = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, emulation)  # its dataclasses look themselves up there
    spec.loader.exec_module(emulation)
    assert emulation.EXIT_CANNOT_EMULATE == ExitCode.DEPENDENCY == 8
    assert emulation.EXIT_CANNOT_EMULATE.name == "DEPENDENCY"


@pytest.mark.parametrize("raised, expected", [(KeyboardInterrupt(), 130), (RuntimeError("bug"), 1),
                                               (errors.SourceError("no camera"), 6)])
def test_main_returns_the_enum_s_plain_int(monkeypatch, capsys, raised, expected):
    from tfedge.edge.commands import inspect

    def fail(_args):
        raise raised

    monkeypatch.setattr(inspect, "run", fail)
    code = main(["inspect", "x.tflite"])
    assert code == expected and type(code) is int
    assert capsys.readouterr().err.count("\n") == 1
