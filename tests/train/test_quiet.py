"""`tfedge train` and `tfedge convert` import TensorFlow without its start-up chatter."""

import os
import subprocess
import sys

SCRIPT = """
import sys
from tfedge.quiet import quiet_tensorflow
print("before", file=sys.stderr, flush=True)
quiet_tensorflow()
import tensorflow
print("after", tensorflow.__name__, file=sys.stderr)
"""


def test_importing_tensorflow_quietly_leaves_only_our_own_lines():
    env = {name: value for name, value in os.environ.items()
           if name not in ("TF_CPP_MIN_LOG_LEVEL", "ABSL_MIN_LOG_LEVEL")}  # as in a user's shell
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "before\nafter tensorflow\n"  # nothing of TensorFlow's, ours still shown
