"""The ONLY module that imports a TFLite interpreter.

Backends are tried in this order unless one is named: ai-edge-litert, tflite-runtime, and
TensorFlow's tf.lite (a desktop fallback; a device install never has TensorFlow). They are
imported when called, not when this module is imported.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from tfedge.errors import DependencyError, ModelError

# backend name -> (module that holds Interpreter and load_delegate, distribution for its version)
BACKENDS = {
    "litert": ("ai_edge_litert.interpreter", "ai-edge-litert"),
    "tflite-runtime": ("tflite_runtime.interpreter", "tflite-runtime"),
    "tensorflow": ("tensorflow.lite", "tensorflow"),
}
BACKEND_ORDER = tuple(BACKENDS)


@dataclass(frozen=True)
class Backend:
    name: str
    version: str
    module: object

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


def _version(distribution: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


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
            failures.append(f"{candidate}: {error}")
            continue
        return Backend(candidate, _version(distribution), module)
    raise DependencyError(
        "no TFLite interpreter could be imported ("
        + "; ".join(failures)
        + '); install one: pip install "tfedge[litert]"'
    )


def make_interpreter(
    model_content: bytes,
    num_threads: int | None = None,
    backend: str | Backend = "auto",
    delegates: list | None = None,
):
    """Build and allocate an interpreter for a model held in memory.

    Returns (interpreter, Backend). Raises ModelError when the bytes are not a loadable model.
    """
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
