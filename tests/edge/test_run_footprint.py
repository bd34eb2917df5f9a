"""What a plain `tfedge run` loads beside numpy, OpenCV and the interpreter: every module is
memory a tutorial loop does not spend (issue 12's peak RSS goal: at most the tutorial loop's)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from tfedge.edge.distributions import installed_versions, version
from tfedge.edge.opencv_builds import installed_opencv, opencv_conflict
from tfedge.edge.percentile import percentile

# Each was imported by a plain headless run once and cost it peak memory (tracked down with
# -X importtime): importlib.metadata with email and csv (3.3 MB: the version line and the OpenCV
# build check), numpy.ma (1.3 MB: numpy.percentile), concurrent.futures and logging (0.8 MB: the
# labelled-folder loader), subprocess and tempfile (1.5 MB: ctypes.util in the hot swap, triggers).
NOT_ON_THE_RUN_PATH = ("importlib.metadata", "email", "csv", "numpy.ma", "concurrent.futures",
                       "logging", "subprocess", "tempfile", "ctypes.util")


def test_a_plain_headless_run_loads_none_of_the_heavy_modules(tflite_models, labelled_video):
    script = ("import json, sys, numpy, cv2\n"
              "try:\n"  # the tutorial loop's own imports
              "    from ai_edge_litert.interpreter import Interpreter\n"
              "except ImportError:\n"
              "    from tflite_runtime.interpreter import Interpreter\n"
              "before = set(sys.modules)\n"
              "from tfedge.main import main\n"
              "code = main(sys.argv[1:])\n"
              f"watched = {NOT_ON_THE_RUN_PATH!r}\n"
              "loaded = sorted(m for m in set(sys.modules) - before\n"
              "                if any(m == w or m.startswith(w + '.') for w in watched))\n"
              "print(json.dumps({'code': code, 'loaded': loaded}))\n")
    run = subprocess.run([sys.executable, "-c", script, "run", str(tflite_models["int8"]), "--source",
                          str(labelled_video), "--headless", "--max-frames", "5"],
                         capture_output=True, text=True, timeout=120)
    assert json.loads(run.stdout.splitlines()[-1]) == {"code": 0, "loaded": []}, run.stderr


@pytest.mark.parametrize("values", [[3.0], [1.0, 2.0], list(np.random.default_rng(0).normal(size=901))])
def test_percentile_is_numpys(values):
    for q in (0, 5, 50, 95, 99.9, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)), abs=1e-12)


def test_percentile_of_nothing_is_refused():
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)


def test_versions_from_folder_names_agree_with_importlib_metadata():
    from importlib import metadata

    def installed(name):
        try:
            return bool(metadata.version(name))
        except metadata.PackageNotFoundError:
            return False

    names = [name for name in ("numpy", "opencv-python", "ai-edge-litert", "tflite-runtime", "tfedge",
                               "paho-mqtt") if installed(name)]
    assert {"numpy", "opencv-python", "tfedge"} <= set(names)
    assert {name: version(name) for name in names} == {name: metadata.version(name) for name in names}
    assert set(installed_versions(names + ["no-such-distribution-here"])) == set(names)
    assert version("no-such-distribution-here") is None


def test_folder_names_of_every_installer(tmp_path, monkeypatch):
    for folder in ("Foo.Bar-1.2.3.dist-info", "baz_qux-0.9-py3.11.egg-info", "notes.txt",
                   "opencv_python-4.8.0.76.dist-info", "opencv_python_headless-4.9.0.80.dist-info"):
        (tmp_path / folder).mkdir()
    monkeypatch.setattr(sys, "path", [str(tmp_path / "missing"), str(tmp_path)])
    assert installed_versions(["foo-bar", "Baz-Qux", "absent"]) == {"foo-bar": "1.2.3", "Baz-Qux": "0.9"}
    assert installed_opencv() == ["opencv-python", "opencv-python-headless"]
    assert "pip uninstall -y opencv-python opencv-python-headless" in opencv_conflict()


ARENAS_SCRIPT = """
import ctypes, sys, threading
import numpy as np
from tfedge.edge.heap import limit_arenas
limited = limit_arenas() if sys.argv[1] == "limit" else None
start = threading.Barrier(8)
def work():
    start.wait()
    for _ in range(200):
        np.ones(300_000, np.uint8).sum()  # a large block from malloc, under contention
threads = [threading.Thread(target=work) for _ in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
print(limited, flush=True)
ctypes.CDLL(None).malloc_stats()  # glibc: one "Arena N:" block per arena, on stderr
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc arenas: Linux only")
def test_a_run_limits_malloc_to_two_arenas():
    def arenas(mode):
        run = subprocess.run([sys.executable, "-c", ARENAS_SCRIPT, mode], capture_output=True, text=True,
                             timeout=60, check=True)
        return run.stdout.strip(), run.stderr.count("Arena ")

    limited, count = arenas("limit")
    assert limited == "True" and 1 <= count <= 2
    assert arenas("default")[1] > 2  # eight threads at once get arenas of their own without it
