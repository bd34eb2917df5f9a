"""Deploy a model to a device, or roll back to the previous one, through one SSH session each."""

from __future__ import annotations

import hashlib
import json
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tfedge.edge.deploy.remote_scripts import DEPLOY, EXIT_CODES, MARK, ROLLBACK, remote_command
from tfedge.edge.deploy.ssh import SshOptions, Target, connection_error
from tfedge.errors import (
    AccuracyError,
    DependencyError,
    ModelError,
    OutputError,
    RemoteError,
)

_ERRORS = {"OUTPUT": OutputError, "REMOTE": RemoteError, "DEPENDENCY": DependencyError,
           "ACCURACY": AccuracyError, "MODEL": ModelError}


@dataclass
class Outcome:
    """What happened on the device: the installed sha256 and seconds since the start per step."""

    sha256: str
    steps: dict[str, float] = field(default_factory=dict)
    device_log: list[str] = field(default_factory=list)
    self_test: dict = field(default_factory=dict)  # the device's `tfedge verify --self-test --json`


def run_script(target: Target, ssh: SshOptions, script: str, args: list[str], payload: bytes | None = None,
               timeout_s: float = 300.0) -> tuple[dict[str, float], list[str], list[str]]:
    """Run `script` on the device; returns (step -> seconds, marker lines, stderr lines).

    Raises the error its exit code stands for, with the device's own last line.
    """
    started = time.perf_counter()
    process = subprocess.Popen(ssh.command(target, remote_command(script, *args)),
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stderr: list[bytes] = []
    reader = threading.Thread(target=lambda: stderr.extend(process.stderr), daemon=True)
    reader.start()
    try:
        if payload is not None:
            process.stdin.write(payload)
        process.stdin.close()
    except BrokenPipeError:
        pass  # the device ended the session early: its exit code says why
    steps, marks = {}, []
    for raw in process.stdout:
        line = raw.decode("utf-8", "replace").strip()
        if line.startswith(MARK):
            marks.append(line[len(MARK):].strip())
            steps[marks[-1].split()[0]] = time.perf_counter() - started
    try:
        code = process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        raise RemoteError(f"{target.destination} did not finish within {timeout_s:g} s; the device is "
                          "as it was unless the last step had started") from None
    reader.join(5)
    lines = [b.decode("utf-8", "replace").rstrip() for b in stderr]
    lines = [line for line in lines if line and not line.startswith("INFO: Created TensorFlow Lite")]
    if code == 255:
        raise connection_error(target, "\n".join(lines))
    if code != 0:
        kind, advice = EXIT_CODES.get(code, ("REMOTE", "see the device's message"))
        said = lines[-1] if lines else f"exit status {code}"
        raise _ERRORS[kind](f"{target.destination}:{target.path}: {said}; {advice}")
    return steps, marks, lines


def deploy(model_path: str | Path, target: Target, ssh: SshOptions, remote_tfedge: str = "tfedge") -> Outcome:
    """Copy the model to `target`, check it there and put it in place (see remote_scripts)."""
    content = Path(model_path).read_bytes()
    sha = hashlib.sha256(content).hexdigest()
    arguments = [target.path, str(len(content)), sha, remote_tfedge]
    steps, marks, lines = run_script(target, ssh, DEPLOY, arguments, payload=content)
    return Outcome(sha, steps, lines, _self_test_report(marks))


def rollback(target: Target, ssh: SshOptions, remote_tfedge: str = "tfedge") -> Outcome:
    """Put `PATH.previous` back at PATH (and the replaced model at PATH.previous)."""
    steps, marks, lines = run_script(target, ssh, ROLLBACK, [target.path, remote_tfedge])
    installed = next((m.split()[1] for m in marks if m.startswith("installed ")), "")
    if len(installed) != 64:
        raise RemoteError(f"{target.destination} did not say which model it put back")
    return Outcome(installed, steps, lines, _self_test_report(marks))


def _self_test_report(marks: list[str]) -> dict:
    for mark in marks:
        if mark.startswith("self-test-report "):
            try:
                return json.loads(mark.split(" ", 1)[1])
            except ValueError:
                return {}
    return {}
