"""Keep TensorFlow's C++ start-up chatter (CPU flags, missing CUDA) off the user's terminal."""

import os


def quiet_tensorflow(debug: bool = False) -> None:
    """Call before TensorFlow is imported; --debug keeps its logs."""
    if not debug:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")
