"""Keep TensorFlow's C++ start-up chatter (CPU flags, oneDNN, missing CUDA) off the user's terminal.

TF_CPP_MIN_LOG_LEVEL quiets TensorFlow's own log, but TensorFlow 2.20+ writes its start-up lines
through absl before absl's log is set up, where no setting reaches them: they are written
straight to file descriptor 2. So TensorFlow is imported here with that descriptor pointed at
/dev/null for the length of the import; Python's own `sys.stderr` is flushed around it.
"""

from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def native_stderr_silenced():
    """Send what native code writes to file descriptor 2 to /dev/null inside the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def quiet_tensorflow(debug: bool = False) -> None:
    """Call before TensorFlow is imported; it imports TensorFlow quietly. --debug keeps its logs."""
    if debug:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules:
        return
    with native_stderr_silenced():
        try:
            import tensorflow  # noqa: F401
        except ImportError:
            pass  # the command's own import says what to install
