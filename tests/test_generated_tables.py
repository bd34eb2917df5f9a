"""edge/tflite/flatbuffer.py's enum tables are what scripts/generate_operator_table.py makes."""

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def generator():
    spec = importlib.util.spec_from_file_location("generate_operator_table",
                                                  REPO / "scripts" / "generate_operator_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_tables_are_the_generated_ones(generator):
    try:
        schema = importlib.import_module(generator.SCHEMA_MODULE)
    except ImportError as error:
        pytest.skip(f"the schema bindings come with ai-edge-litert, not installed here ({error})")
    source = (REPO / "edge" / "tflite" / "flatbuffer.py").read_text()
    assert generator.committed_block(source) == generator.render(schema), (
        "flatbuffer.py differs from the installed schema: run scripts/generate_operator_table.py --write")
    assert generator.main(["--check"]) == 0


def test_the_block_defines_the_reader_s_tables(generator):
    from tfedge.edge.tflite import flatbuffer

    namespace = {}
    exec(generator.committed_block(Path(flatbuffer.__file__).read_text()), namespace)
    assert namespace["BUILTIN_OPERATORS"] == flatbuffer.BUILTIN_OPERATORS
    assert namespace["TENSOR_TYPES"] == flatbuffer.TENSOR_TYPES
    assert flatbuffer.BUILTIN_OPERATORS[:4] == ("ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D")
    assert flatbuffer.BUILTIN_OPERATORS.index("CUSTOM") == 32  # codes fixed by the schema


def test_an_enum_with_a_gap_is_refused(generator):
    class BuiltinOperator:
        ADD = 0
        CONV_2D = 3

    with pytest.raises(ValueError, match="not 0..1"):
        generator.enum_names(BuiltinOperator)


def test_the_check_fails_when_the_schema_has_more(generator, capsys, monkeypatch):
    class TensorType:
        FLOAT32 = 0

    class BuiltinOperator:
        ADD = 0

    schema = type(sys)("fake_schema")  # a fake schema module: one type, one operator
    schema.TensorType, schema.BuiltinOperator = TensorType, BuiltinOperator
    monkeypatch.setitem(sys.modules, "fake_schema", schema)
    assert generator.main(["--check", "--schema-module", "fake_schema"]) == 1
    assert "--write" in capsys.readouterr().err
