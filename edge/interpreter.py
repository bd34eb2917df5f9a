"""The ONLY module that imports a TFLite interpreter.

Backends are tried in this order unless one is named: ai-edge-litert, tflite-runtime, and
TensorFlow's tf.lite (a desktop fallback; a device install never has TensorFlow). They are
imported when called, not when this module is imported. The Edge TPU delegate is loaded here
too, from the library named for this operating system in `EDGETPU_LIBRARIES`.
"""

from __future__ import annotations

import gc
import importlib
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

from tfedge.edge.tflite.edgetpu import cpu_model_paths, holds_compiled_operator
from tfedge.errors import DependencyError, ModelError, UsageError

# backend name -> (module that holds Interpreter and load_delegate, distribution for its version)
BACKENDS = {
    "litert": ("ai_edge_litert.interpreter", "ai-edge-litert"),
    "tflite-runtime": ("tflite_runtime.interpreter", "tflite-runtime"),
    "tensorflow": ("tensorflow.lite.python.interpreter", "tensorflow"),  # = tf.lite.Interpreter
}
BACKEND_ORDER = tuple(BACKENDS)

# tflite-runtime's last wheels are for Python 3.11; pyproject.toml's [tflite-runtime] extra asks
# for it only below 3.12 (an environment marker), so newer Pythons install it without one.
TFLITE_RUNTIME_LAST_PYTHON = (3, 11)

# More interpreter threads than this is a typo, not a setting (the biggest boards have 8-16 cores).
MAX_THREADS = 64

# platform.system() -> file name of the Edge TPU runtime library (libedgetpu)
EDGETPU_LIBRARIES = {
    "Linux": "libedgetpu.so.1",
    "Darwin": "libedgetpu.1.dylib",
    "Windows": "edgetpu.dll",
}
EDGETPU_INSTALL_HINT = (
    "install the Edge TPU runtime (Debian/Raspberry Pi OS: add Coral's apt repository, then "
    "'sudo apt-get install libedgetpu1-std'; see https://coral.ai/software/#edgetpu-runtime), "
    "plug in the Coral accelerator, or pass --fallback-cpu"
)


@dataclass(frozen=True)
class Backend:
    name: str
    version: str
    module: object

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


def _version(distribution: str) -> str:
    from tfedge.edge.distributions import version

    return version(distribution) or "unknown"


def tflite_runtime_unsupported(version_info: tuple | None = None) -> str | None:
    """Why tflite-runtime cannot exist on this Python (default: the running one), as one line
    naming [litert]; None up to 3.11."""
    version_info = version_info or sys.version_info
    if tuple(version_info[:2]) <= TFLITE_RUNTIME_LAST_PYTHON:
        return None
    python = f"{version_info[0]}.{version_info[1]}"
    last = ".".join(map(str, TFLITE_RUNTIME_LAST_PYTHON))
    return (f"tflite-runtime has no build for Python {python} (its last is for {last}), so "
            f'tfedge[tflite-runtime] installs no interpreter here; use: pip install "tfedge[litert]"')


def resolve_backend(name: str = "auto") -> Backend:
    """Import the named interpreter backend, or the first one available for "auto"."""
    if name != "auto" and name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose auto or one of {', '.join(BACKENDS)}")
    candidates = BACKEND_ORDER if name == "auto" else (name,)
    failures = []
    for candidate in candidates:
        module_name, distribution = BACKENDS[candidate]
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            unsupported = tflite_runtime_unsupported() if candidate == "tflite-runtime" else None
            if unsupported and name == candidate:
                raise DependencyError(unsupported) from None
            failures.append(f"{candidate}: {error}" if unsupported is None else
                            f"{candidate}: {unsupported.split(' (', 1)[0]}")
            continue
        return Backend(candidate, _version(distribution), module)
    raise DependencyError(
        "no TFLite interpreter could be imported ("
        + "; ".join(failures)
        + '); install one: pip install "tfedge[litert]"'
    )


def available_backends() -> list[Backend]:
    """Every backend that imports here, in the preferred order."""
    found = []
    for name in BACKEND_ORDER:
        try:
            found.append(resolve_backend(name))
        except DependencyError:
            continue
    return found


def check_threads(num_threads: int | None) -> int | None:
    """`num_threads` unchanged when sensible; UsageError for zero, negative or absurd counts."""
    if num_threads is None:
        return None
    if isinstance(num_threads, bool) or not isinstance(num_threads, int):
        raise UsageError(f"--threads {num_threads!r} is not a whole number; use 1 to {MAX_THREADS}")
    if not 1 <= num_threads <= MAX_THREADS:
        raise UsageError(f"--threads {num_threads} is out of range; use 1 to {MAX_THREADS}")
    return num_threads


def is_edgetpu_model(model_content: bytes) -> bool:
    """True when the flatbuffer was compiled for the Edge TPU (it holds edgetpu-custom-op)."""
    return holds_compiled_operator(model_content)


def edgetpu_library(system: str | None = None) -> str:
    """The Edge TPU runtime library's file name for an operating system (default: this one)."""
    system = system or platform.system()
    try:
        return EDGETPU_LIBRARIES[system]
    except KeyError:
        raise DependencyError(
            f"the Edge TPU runtime has no build for {system}; use Linux, macOS or Windows, "
            "or pass --fallback-cpu"
        ) from None


def load_edgetpu_delegate(backend: Backend, device: str | None = None, system: str | None = None):
    """Load the Edge TPU delegate through the backend's own `load_delegate`.

    `device` picks one accelerator (":0", "usb", "pci:0"); None takes the first one found.
    Raises DependencyError (one line: what to install) when the library or device is missing.
    """
    library = edgetpu_library(system)
    load_delegate = getattr(backend.module, "load_delegate", None)
    if load_delegate is None:
        raise DependencyError(f"the {backend.name} interpreter cannot load delegates; "
                              'install ai-edge-litert: pip install "tfedge[litert]"')
    options = {"device": device} if device else {}
    # A failed load leaves a half-built Delegate whose __del__ complains on stderr; it is
    # collected here, with that complaint silenced, before the one-line error is raised.
    hook, sys.unraisablehook = sys.unraisablehook, lambda _unraisable: None
    try:
        try:
            return load_delegate(library, options)
        except (ValueError, OSError, RuntimeError) as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        gc.collect()
    finally:
        sys.unraisablehook = hook
    raise DependencyError(f"cannot load the Edge TPU delegate {library} ({reason}); " + EDGETPU_INSTALL_HINT)


def cpu_sibling(model_path: str | Path) -> Path:
    """The CPU model beside an Edge TPU model `x_edgetpu.tflite`: `x.tflite` (the Coral
    convention) or `x_edgetpu_ready.tflite` (tfedge convert's), whichever exists."""
    path = Path(model_path)
    candidates = cpu_model_paths(path)
    if not candidates:
        return path
    for sibling in candidates:
        if sibling.exists():
            return sibling
    raise ModelError(f"--fallback-cpu needs the CPU model {candidates[0].name} or {candidates[1].name} "
                     f"beside {path.name}; convert it (tfedge convert ... --quant edgetpu) or copy it there")


def make_interpreter(
    model_content: bytes,
    num_threads: int | None = None,
    backend: str | Backend = "auto",
    delegates: list | None = None,
):
    """Build and allocate an interpreter for a model held in memory.

    Returns (interpreter, Backend). Raises ModelError when the bytes are not a loadable model,
    or when the model needs the Edge TPU and no delegate was given.
    """
    check_threads(num_threads)
    if not delegates and is_edgetpu_model(model_content):
        raise ModelError("this model is compiled for the Edge TPU; run it with --edgetpu, or run "
                         "the CPU model (the file without _edgetpu) instead")
    resolved = backend if isinstance(backend, Backend) else resolve_backend(backend)
    kwargs = {"model_content": model_content}
    if num_threads is not None:
        kwargs["num_threads"] = int(num_threads)
    if delegates:
        kwargs["experimental_delegates"] = delegates
    try:
        interpreter = resolved.module.Interpreter(**kwargs)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelError(f"the interpreter cannot load this model ({first_line})") from None
    return interpreter, resolved
