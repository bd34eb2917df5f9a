"""One JSON object per line: a line per frame, and a summary line at the end."""

from __future__ import annotations

import json
import sys


class JsonLinesSink:
    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stdout

    def emit(self, result: dict) -> None:
        self.stream.write(json.dumps(result) + "\n")

    def close(self, summary: dict) -> None:
        self.stream.write(json.dumps({"summary": summary}) + "\n")
        self.stream.flush()
