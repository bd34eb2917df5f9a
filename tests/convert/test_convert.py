import json

import numpy as np

from tfedge.edge.card import load_card, read_embedded_card
from tfedge.edge.classify import Classifier
from tfedge.edge.evaluation import evaluate
from tfedge.edge.labelled import list_classes
from tfedge.run_layout import CARD_FILE, METRICS_FILE


def test_int8_is_full_integer_with_uint8_input_and_output(tflite_models):
    classifier = Classifier(tflite_models["int8"])
    assert classifier.input_detail["dtype"] == np.uint8
    assert classifier.output_detail["dtype"] == np.uint8
    ops = {op["op_name"] for op in classifier.interpreter._get_ops_details()}
    assert "DEQUANTIZE" not in ops


def test_card_travels_inside_each_file(tflite_models, trained_run):
    run_card = load_card(trained_run / CARD_FILE)
    for quant, path in tflite_models.items():
        card = read_embedded_card(path.read_bytes())
        assert card.labels == run_card.labels and card.input_size == run_card.input_size
        assert card.quantization == quant
        assert len(card.provenance["source_model_sha256"]) == 16


def test_float32_matches_keras_validation_accuracy(tflite_models, trained_run):
    metrics = json.loads((trained_run / METRICS_FILE).read_text())
    split = json.loads((trained_run / "split.json").read_text())
    from pathlib import Path

    items = [(Path(split["root"]) / rel, label) for rel, label in split["val"]]
    evaluation = evaluate(Classifier(tflite_models["float32"]), items, split["labels"])
    assert abs(evaluation.accuracy - metrics["val_accuracy"]) < 1e-6


def test_int8_stays_close_to_float32_on_held_out_images(tflite_models, fashion_dir):
    classes = list_classes(fashion_dir / "test")
    labels = sorted(classes)
    items = [(p, labels.index(c)) for c in labels for p in classes[c]]
    float_acc = evaluate(Classifier(tflite_models["float32"]), items, labels).accuracy
    int8_acc = evaluate(Classifier(tflite_models["int8"]), items, labels).accuracy
    assert abs(float_acc - int8_acc) <= 0.05


def test_convert_cli_prints_a_row_per_variant(capsys, trained_run):
    from tfedge.main import main

    assert main(["convert", str(trained_run), "--quant", "float32"]) == 0
    out = capsys.readouterr().out
    assert "float32" in out and "accuracy" in out


def test_convert_repeats_the_training_warning_before_writing_files(trained_run, tmp_path):
    import shutil

    from tfedge.convert.convert_run import convert_run

    run = tmp_path / "run"
    shutil.copytree(trained_run, run, ignore=shutil.ignore_patterns("*.tflite"))
    metrics = json.loads((run / METRICS_FILE).read_text())
    metrics["warning"] = "The model learned nothing that holds on new images: ..."
    (run / METRICS_FILE).write_text(json.dumps(metrics))
    lines = []
    convert_run(run, ["float32"], verify=False, log=lines.append)
    warned = lines.index(f"warning: {metrics['warning']}")
    assert warned < min(i for i, line in enumerate(lines) if line.startswith("wrote "))
