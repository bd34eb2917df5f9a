"""A .tflite without our card, with a labels.txt beside it: inspect, verify and run all work."""

import json

import pytest

from tfedge.edge.card import read_embedded_card, strip_embedded
from tfedge.main import main

LABEL_FORMATS = {
    "index space": lambda labels: "".join(f"{i} {label}\n" for i, label in enumerate(labels)),
    "index colon": lambda labels: "".join(f"{i}:{label}\n" for i, label in enumerate(labels)),
    "plain": lambda labels: "".join(f"{label}\n" for label in labels),
}


@pytest.fixture(params=list(LABEL_FORMATS))
def cardless_int8(request, tflite_models, tmp_path):
    content = tflite_models["int8"].read_bytes()
    labels = read_embedded_card(content).labels
    folder = tmp_path / request.param.replace(" ", "_")
    folder.mkdir()
    model = folder / "zoo_model.tflite"
    model.write_bytes(strip_embedded(content))
    (folder / "labels.txt").write_text(LABEL_FORMATS[request.param](labels))
    assert read_embedded_card(model.read_bytes()) is None
    return model, labels


def test_inspect_builds_the_card_from_labels_txt(capsys, cardless_int8):
    model, labels = cardless_int8
    assert main(["inspect", str(model), "--json", "--no-load"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["card_source"] == "built from labels.txt and the input tensor"
    assert report["card"]["labels"] == labels and report["card"]["color_order"] == "GRAY"
    assert report["file_bytes"] == report["flatbuffer_bytes"]


def test_verify_gives_the_same_accuracy_as_with_our_card(capsys, cardless_int8, tflite_models, fashion_dir):
    model, _ = cardless_int8
    assert main(["verify", str(tflite_models["int8"]), str(fashion_dir / "test"), "--json"]) == 0
    with_card = json.loads(capsys.readouterr().out)
    assert main(["verify", str(model), str(fashion_dir / "test"), "--json"]) == 0
    without_card = json.loads(capsys.readouterr().out)
    assert without_card["accuracy"] == with_card["accuracy"]
    assert without_card["confusion"] == with_card["confusion"]


def test_run_names_frames_with_labels_txt(capsys, cardless_int8, fashion_dir):
    model, labels = cardless_int8
    source = fashion_dir / "test" / "Trouser"
    assert main(["run", str(model), "--source", str(source), "--headless", "--max-frames", "5"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    frames = [line for line in lines if "label" in line]
    assert len(frames) == 5 and all(frame["label"] in labels for frame in frames)
