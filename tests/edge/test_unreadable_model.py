"""A model file the user may not read (a root-only copy) is a one-line model error, not a crash."""

from pathlib import Path

import pytest

from tfedge.edge.model_file import read_tflite
from tfedge.errors import ExitCode, ModelError
from tfedge.main import main


@pytest.fixture
def unreadable(tmp_path, monkeypatch) -> Path:
    """A model file whose read fails as it does for a non-root user on a 0600 root file (the
    tests run as root, which reads anything, so the read itself is made to fail)."""
    path = tmp_path / "model.tflite"
    path.write_bytes(b"\0" * 64)
    original = Path.read_bytes

    def read_bytes(self):
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    return path


def test_read_names_the_file_and_what_to_do(unreadable):
    with pytest.raises(ModelError, match=r"model\.tflite: cannot be read \(Permission denied\); check its"):
        read_tflite(unreadable)


def test_run_stops_with_one_line_and_the_model_exit_code(unreadable, tmp_path, capsys):
    code = main(["run", str(unreadable), "--source", str(tmp_path), "--headless"])
    error = capsys.readouterr().err
    assert code == ExitCode.MODEL and error.count("\n") == 1 and "Permission denied" in error
