"""Edge TPU: a preflight of what edgetpu_compiler needs, then the compiler itself when installed.

`tfedge convert --quant edgetpu` writes model_edgetpu_ready.tflite (full-integer, batch 1,
static shapes), checks it, and, when `edgetpu_compiler` is on PATH, compiles it into
model_edgetpu.tflite with the card and standard metadata embedded again (the compiler drops
them).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from tfedge.convert.metadata_writer import copy_metadata
from tfedge.edge.card import read_embedded_card
from tfedge.edge.tflite.edgetpu import compiled_path, edgetpu_problems, ready_path
from tfedge.edge.tflite.flatbuffer import parse_tflite
from tfedge.errors import ModelError
from tfedge.fileio import write_bytes_atomic
from tfedge.run_layout import tflite_name

COMPILER = "edgetpu_compiler"
COMPILE_TIMEOUT_S = 600
COMPILED_NAME = tflite_name("edgetpu")
READY_NAME = ready_path(Path(COMPILED_NAME)).name
INSTALL_HINT = (f"{COMPILER} is not on PATH, so the Edge-TPU-ready int8 file is written uncompiled; "
                "install it (Debian/Ubuntu x86_64 only): see https://coral.ai/docs/edgetpu/compiler/ "
                "(apt-get install edgetpu-compiler from Coral's package repository), then convert again")
MAPPED = "Mapped to Edge TPU"


def preflight(model: bytes) -> list[str]:
    """What stops the compiler from mapping the whole model; [] when the model is ready."""
    try:
        return edgetpu_problems(parse_tflite(model))
    except ValueError as error:
        raise ModelError(f"the model cannot be checked for the Edge TPU ({error})") from None


def parse_compiler_report(text: str) -> dict:
    """edgetpu_compiler's stdout and/or .log into counts and the operators left to the CPU.

    The compiler prints "Total number of operations: M" and, with -s or in its .log, a table
    of "OPERATOR  COUNT  STATUS" rows; "Number of operations that will run on Edge TPU: N"
    appears only when some operators fall back to the CPU.
    """
    total = re.search(r"Total number of operations:\s*(\d+)", text)
    on_tpu = re.search(r"Number of operations that will run on Edge TPU:\s*(\d+)", text)
    rows, seen = [], set()
    table = text.split("Operator", 1)[1] if re.search(r"Operator\s+Count\s+Status", text) else ""
    for match in re.finditer(r"^([A-Z][A-Z0-9_]*|[a-z][\w-]*)\s+(\d+)\s+(\S.*?)\s*$", table, re.MULTILINE):
        row = (match.group(1), int(match.group(2)), match.group(3))
        if row not in seen:  # stdout (-s) and the .log repeat the same table
            seen.add(row)
            rows.append(row)
    mapped = sum(count for _, count, status in rows if status == MAPPED)
    total_count = int(total.group(1)) if total else sum(count for _, count, _ in rows)
    on_tpu_count = int(on_tpu.group(1)) if on_tpu else (mapped if rows else total_count)
    return {"on_edgetpu": on_tpu_count, "total": total_count,
            "cpu_fallback": [{"operator": op, "count": count, "reason": status}
                             for op, count, status in rows if status != MAPPED]}


def compile_model(ready_path: Path, compiler: str) -> tuple[bytes, dict]:
    """Run the compiler on `ready_path` in a temp folder; returns (compiled bytes, report)."""
    with tempfile.TemporaryDirectory(prefix="tfedge-edgetpu-") as work:
        work = Path(work)
        source = work / ready_path.name
        shutil.copyfile(ready_path, source)
        try:
            result = subprocess.run([compiler, "-s", "-o", str(work), str(source)],
                                    capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise ModelError(f"{compiler} did not finish within {COMPILE_TIMEOUT_S} s") from None
        compiled = compiled_path(source)
        if result.returncode != 0 or not compiled.exists():
            last = (result.stderr.strip() or result.stdout.strip() or "no output").splitlines()[-1]
            raise ModelError(f"{compiler} failed on {ready_path.name} ({last}); the Edge-TPU-ready "
                             f"file {ready_path} is still written")
        log_file = compiled_path(source, ".log")
        text = result.stdout + ("\n" + log_file.read_text(errors="replace") if log_file.exists() else "")
        return compiled.read_bytes(), parse_compiler_report(text)


def prepare_for_edgetpu(ready_path: Path, log=print) -> dict:
    """Preflight `ready_path`, then compile it when the compiler is installed. Returns a summary."""
    ready_path = Path(ready_path)
    content = ready_path.read_bytes()
    problems = preflight(content)
    if problems:
        log(f"Edge TPU preflight: {len(problems)} problem(s) in {ready_path.name}:")
        for problem in problems:
            log(f"  - {problem}")
    else:
        log(f"Edge TPU preflight: {ready_path.name} is int8 throughout, batch 1, static, only "
            "Edge TPU operators")
    compiler = shutil.which(COMPILER)
    if compiler is None:
        log(INSTALL_HINT)
        return {"preflight": problems, "compiled": None}
    compiled, report = compile_model(ready_path, compiler)
    card = read_embedded_card(content)
    # the compiler drops the standard metadata and the appended card: both are put back
    target = write_bytes_atomic(ready_path.with_name(COMPILED_NAME),
                                copy_metadata(content, compiled, card) if card is not None else compiled)
    log(f"Edge TPU: {report['on_edgetpu']} of {report['total']} operators on the Edge TPU; wrote {target}")
    for fallback in report["cpu_fallback"]:
        log(f"  on the CPU: {fallback['operator']} ({fallback['count']}x): {fallback['reason']}")
    return {"preflight": problems, "compiled": str(target), **report}
