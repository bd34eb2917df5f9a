"""Load a .tflite in a child process, so a crashing interpreter cannot take the caller down.

The LiteRT interpreter trusts its input; a hostile flatbuffer can make it segfault or spin.
`load_in_subprocess` runs `python -m tfedge.edge.tflite.load_check MODEL` with a timeout and reports
the tensors the interpreter saw, or one line saying why it could not load the model.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys

DEFAULT_TIMEOUT_S = 30.0


def _describe(details: list[dict]) -> list[dict]:
    return [{"name": d["name"], "dtype": str(d["dtype"].__name__), "shape": [int(x) for x in d["shape"]],
             "quantization": [float(d["quantization"][0]), int(d["quantization"][1])]}
            for d in details]


def load_in_subprocess(path: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> dict:
    """{"ok": True, "backend", "inputs", "outputs"} or {"ok": False, "error": one line}."""
    command = [sys.executable, "-m", "tfedge.edge.tflite.load_check", str(path)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"the interpreter did not finish loading within {timeout_s:g} s"}
    if result.returncode < 0:
        try:
            name = signal.Signals(-result.returncode).name
        except ValueError:
            name = f"signal {-result.returncode}"
        return {"ok": False, "error": f"the interpreter crashed loading this model ({name})"}
    lines = result.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return {"ok": False, "error": f"the interpreter check failed ({last[:200]})"}


def main(argv: list[str]) -> int:
    from pathlib import Path

    from tfedge.edge.interpreter import make_interpreter
    from tfedge.errors import TfedgeError

    try:
        interpreter, backend = make_interpreter(Path(argv[0]).read_bytes())
        report = {"ok": True, "backend": str(backend),
                  "inputs": _describe(interpreter.get_input_details()),
                  "outputs": _describe(interpreter.get_output_details())}
    except (TfedgeError, OSError) as error:
        report = {"ok": False, "error": str(error)}
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
