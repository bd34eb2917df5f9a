"""The CLIs' choices come from the one place that holds each fact, and the parser stays light."""

import subprocess
import sys

from tfedge.convert.quantize import IO_TYPES, Quantization
from tfedge.edge.interpreter import BACKENDS
from tfedge.main import build_parser


def choices(command: str, option: str) -> list:
    parser = build_parser()
    subparsers = next(action for action in parser._actions if action.dest == "command")
    sub = subparsers.choices[command]
    return list(next(action for action in sub._actions if option in action.option_strings).choices)


def test_backend_choices_are_the_interpreter_s_backends():
    assert choices("run", "--backend") == ["auto", *BACKENDS]
    assert choices("verify", "--backend") == ["auto", *BACKENDS]
    assert choices("bench", "--backends") == ["all", *BACKENDS]


def test_quantization_choices_are_the_enum_s_values():
    assert choices("convert", "--quant") == [mode.value for mode in Quantization]
    assert choices("convert", "--io-type") == list(IO_TYPES)


def test_building_the_parser_imports_no_heavy_library():
    code = ("import sys, tfedge.main; tfedge.main.build_parser(); "
            "print(sorted(m for m in ('numpy', 'cv2', 'tensorflow', 'keras') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
