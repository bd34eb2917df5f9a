"""Tests of the emulated-Pi harness (scripts/pi) that run on the host, without emulation."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts" / "pi"))
