"""The device side works with TensorFlow made unimportable."""

import json
import subprocess
import sys

BLOCK_TF = "import sys; sys.modules['tensorflow'] = None; "


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK_TF + code], capture_output=True, text=True,
                          timeout=120)


def test_every_edge_module_imports_without_tensorflow():
    code = (
        "import importlib, pkgutil, tfedge.edge, tfedge.edge.sinks, tfedge.edge.review\n"
        "for pkg in (tfedge.edge, tfedge.edge.sinks, tfedge.edge.review):\n"
        "    for m in pkgutil.iter_modules(pkg.__path__):\n"
        "        importlib.import_module(pkg.__name__ + '.' + m.name)\n"
        "import tfedge.main; tfedge.main.build_parser()\n"
        "print('tensorflow' in sys.modules and sys.modules['tensorflow'] is not None)"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_tfedge_run_classifies_a_video_without_tensorflow(tflite_models, labelled_video):
    code = (
        "from tfedge.main import main; "
        f"sys.exit(main(['run', {str(tflite_models['int8'])!r}, '--source', "
        f"{str(labelled_video)!r}, '--headless', '--backend', 'auto']))"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[-1]["summary"]["frames"] == len(lines) - 1 > 0
