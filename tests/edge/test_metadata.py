"""Standard TFLite metadata on the device side: read without TensorFlow, used in its place in the
precedence card > standard metadata > labels.txt > a guess from the input tensor."""

from __future__ import annotations

import io
import warnings
import zipfile

from tfedge.edge.card import LABELS_NAME, read_embedded_card, strip_embedded
from tfedge.edge.classify import Classifier
from tfedge.edge.tflite.inspect import inspect_model
from tfedge.edge.tflite.metadata import read_standard_metadata


def _cardless(model: bytes, files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO(strip_embedded(model))
    buffer.seek(0, io.SEEK_END)
    with zipfile.ZipFile(buffer, "a") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_converted_files_carry_standard_metadata(tflite_models):
    for path in tflite_models.values():
        content = path.read_bytes()
        metadata = read_standard_metadata(content)
        card = read_embedded_card(content)
        assert metadata.min_parser_version == "1.0.0"
        assert metadata.inputs[0].color_space == "GRAYSCALE"
        assert (metadata.inputs[0].mean, metadata.inputs[0].std) == ([0.0], [1.0])
        assert (metadata.inputs[0].stats_min, metadata.inputs[0].stats_max) == ([0.0], [255.0])
        assert metadata.labels_file().name == LABELS_NAME
        assert [f.name for f in metadata.associated_files] == ["tfedge_card.json"]
        assert card.quantization in metadata.description and card.labels[0] in metadata.description
        with zipfile.ZipFile(path) as archive:  # MediaPipe refuses deflated entries
            assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_STORED}


def test_signatures_survive(tflite_models):
    from tfedge.edge.interpreter import make_interpreter

    interpreter, _ = make_interpreter(tflite_models["float32"].read_bytes())
    assert list(interpreter.get_signature_list()) == ["serving_default"]


def test_metadata_comes_before_labels_txt(tflite_models, tmp_path):
    content = tflite_models["int8"].read_bytes()
    names = [f"name {i}" for i in range(10)]
    path = tmp_path / "cardless.tflite"
    path.write_bytes(_cardless(content, {LABELS_NAME: "\n".join(names).encode()}))
    (tmp_path / LABELS_NAME).write_text("\n".join(f"wrong {i}" for i in range(10)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        classifier = Classifier(path)
    assert classifier.labels == names and classifier.card.provenance["labels_from"] == "standard metadata"
    assert inspect_model(path, load_check=False)["card_source"].startswith("built from standard metadata")


def test_float_input_without_metadata_is_a_guess_said_once(tflite_models, tmp_path):
    path = tmp_path / "bare.tflite"
    path.write_bytes(strip_embedded(tflite_models["float32"].read_bytes()).replace(b"TFLITE_METADATA",
                                                                                   b"SOMETHING_ELSE_"))
    assert read_standard_metadata(path.read_bytes()) is None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        classifier = Classifier(path)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "nor standard metadata" in message and "[-1, 1]" in message and "class indexes" in message
    assert classifier.card.mean == [127.5]
