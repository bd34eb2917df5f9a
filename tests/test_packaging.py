"""The declared requirements keep TensorFlow off devices; the wheel holds the three stages."""

import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def requirements(extra=None):
    result = []
    for requirement in metadata.requires("tfedge") or []:
        name, _, marker = requirement.partition(";")
        if extra is None and "extra" not in marker:
            result.append(name.strip())
        elif extra is not None and f'extra == "{extra}"' in marker:
            result.append(name.strip())
    return result


def test_device_install_does_not_pull_tensorflow():
    device = requirements() + requirements("litert")
    assert device and not [r for r in device if r.lower().startswith("tensorflow")]
    assert any(r.startswith("ai-edge-litert") for r in requirements("litert"))
    assert any(r.startswith("tensorflow") for r in requirements("train"))
    older = requirements("tflite-runtime")
    assert any(r.startswith("tflite-runtime") for r in older) and "numpy<2" in older


def test_console_script_and_wheel_layout(tmp_path):
    entry = [e for e in metadata.entry_points(group="console_scripts") if e.name == "tfedge"]
    assert entry and entry[0].value == "tfedge.main:main"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), str(ROOT)], check=True, timeout=300)
    wheel = next(tmp_path.glob("tfedge-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, package in (("common", "tfedge"), ("train", "tfedge/train"),
                            ("convert", "tfedge/convert"), ("edge", "tfedge/edge")):
        for source in (ROOT / folder).rglob("*.py"):
            if package == "tfedge" or "__pycache__" not in source.parts:
                assert f"{package}/{source.relative_to(ROOT / folder).as_posix()}" in names
    for asset in ("web_page.html", "web_page.js", "web_page.css"):  # the live view's page
        assert f"tfedge/edge/sinks/{asset}" in names
    for asset in ("page.html", "page.js", "page.css"):  # the review page
        assert f"tfedge/edge/review/{asset}" in names
