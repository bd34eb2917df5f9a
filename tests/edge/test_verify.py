"""`tfedge verify`: accuracy per class and confusion, through the device's decode and preprocessing."""

import json
import shutil

import numpy as np

from tfedge.edge.classify import Classifier
from tfedge.edge.evaluation import Evaluation, confusion_matrix, evaluate
from tfedge.edge.labelled import list_classes
from tfedge.main import main


def test_confusion_matrix_counts_true_by_predicted_and_leaves_out_unknown_predictions():
    matrix = confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 7], 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]
    assert confusion_matrix([], [], 2).tolist() == [[0, 0], [0, 0]]
    evaluation = Evaluation(["a", "b", "c"], np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 7]),
                            [1.0] * 6, [])
    assert (evaluation.confusion() == matrix).all()  # verify's matrix is this one


def test_verify_prints_accuracy_per_class_and_confusion(capsys, tflite_models, fashion_dir):
    assert main(["verify", str(tflite_models["int8"]), str(fashion_dir / "test")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("accuracy ") and "on 100 images" in out
    assert "Ankle_boot" in out and "confusion" in out


def test_verify_json_agrees_with_a_direct_evaluation(capsys, tflite_models, fashion_dir):
    assert main(["verify", str(tflite_models["float32"]), str(fashion_dir / "test"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    confusion = report["confusion"]
    assert sum(map(sum, confusion)) == report["images"] == 100
    assert sum(confusion[i][i] for i in range(len(confusion))) / 100 == report["accuracy"]
    classifier = Classifier(tflite_models["float32"])
    classes = list_classes(fashion_dir / "test")
    items = [(p, classifier.labels.index(name)) for name, paths in classes.items() for p in paths]
    assert evaluate(classifier, items, classifier.labels).accuracy == report["accuracy"]
    assert set(report["per_class_accuracy"]) == set(classifier.labels)


def test_a_subset_of_the_classes_is_fine(capsys, tflite_models, fashion_dir, tmp_path):
    for name in ("Bag", "Sandal"):
        shutil.copytree(fashion_dir / "test" / name, tmp_path / name)
    assert main(["verify", str(tflite_models["int8"]), str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["images"] == 20


def test_class_folders_that_are_not_the_models_labels(capsys, tflite_models, fashion_dir, tmp_path):
    shutil.copytree(fashion_dir / "test" / "Bag", tmp_path / "cat")
    shutil.copytree(fashion_dir / "test" / "Sandal", tmp_path / "Sandal")
    code = main(["verify", str(tflite_models["int8"]), str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 3 and len(err) == 1
    assert "cat" in err[0] and "not among the model's labels" in err[0] and "Ankle_boot" in err[0]


def test_verify_and_inspect_run_without_tensorflow(tflite_models, fashion_dir):
    import subprocess
    import sys

    code = ("import sys; sys.modules['tensorflow'] = None\n"
            "from tfedge.main import main\n"
            f"assert main(['verify', {str(tflite_models['int8'])!r}, {str(fashion_dir / 'test')!r}]) == 0\n"
            f"assert main(['inspect', {str(tflite_models['int8'])!r}]) == 0\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "accuracy" in result.stdout and "interpreter: loads" in result.stdout
