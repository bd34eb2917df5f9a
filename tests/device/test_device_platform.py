"""The emulated Pi is what a user's Pi is: aarch64, its OS release's Python (bookworm 3.11, trixie
3.13), the pinned core, no TensorFlow."""

import ctypes
import importlib.util
import json
import os
import platform
import sys
from importlib import metadata
from pathlib import Path

import pytest

from tfedge.edge.interpreter import resolve_backend

AT_HWCAP = 16
# What the arm64 kernel reports for each Pi's core: CPU part, and whether it has the dot
# product instructions (Cortex-A76 does, Cortex-A72 does not).
PI_CORES = {"cortex-a72": ("0xd08", False), "cortex-a76": ("0xd0b", True)}
HWCAP_ASIMDDP = 1 << 20


def test_aarch64_with_the_releases_debian_python():
    release = os.environ.get("TFEDGE_DEVICE_OS", "bookworm")
    python = os.environ.get("TFEDGE_DEVICE_PYTHON", "3.11")
    assert platform.machine() == "aarch64"
    assert f"{sys.version_info[0]}.{sys.version_info[1]}" == python
    assert sys.executable.startswith("/opt/venv-") and Path(sys.base_prefix) == Path("/usr")  # Debian's
    assert f"VERSION_CODENAME={release}\n" in Path("/etc/os-release").read_text()


def test_no_tensorflow_is_installed():
    assert importlib.util.find_spec("tensorflow") is None
    names = {(dist.metadata["Name"] or "").lower() for dist in metadata.distributions()}
    assert not [name for name in names if name.startswith(("tensorflow", "tf-nightly"))]


def test_tfedge_comes_from_the_wheel_not_the_source_tree():
    import tfedge

    assert Path(sys.prefix) in Path(tfedge.__file__).resolve().parents
    direct_url = json.loads(metadata.distribution("tfedge").read_text("direct_url.json") or "{}")
    assert not direct_url.get("dir_info", {}).get("editable", False)
    assert direct_url.get("url", "").endswith(".whl")


def test_the_venv_uses_its_interpreter_backend(backend):
    if backend == "auto":
        pytest.skip("TFEDGE_DEVICE_BACKEND not set")
    assert resolve_backend("auto").name == backend
    if backend == "tflite-runtime":
        import numpy

        assert int(numpy.__version__.split(".")[0]) < 2
        assert importlib.util.find_spec("ai_edge_litert") is None


def test_qemu_emulates_the_pinned_pi_core():
    cpu = os.environ.get("QEMU_CPU")
    if cpu not in PI_CORES:
        pytest.skip(f"QEMU_CPU={cpu!r} is not a Pi core")
    part, has_dotprod = PI_CORES[cpu]
    libc = ctypes.CDLL(None)
    libc.getauxval.restype = ctypes.c_ulong
    hwcap = libc.getauxval(AT_HWCAP)
    assert bool(hwcap & HWCAP_ASIMDDP) == has_dotprod
    cpuinfo = Path("/proc/cpuinfo").read_text()
    assert f"CPU part\t: {part}" in cpuinfo
    assert ("asimddp" in cpuinfo) == has_dotprod
