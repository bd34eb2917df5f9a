"""Standard metadata with the real other side: MediaPipe Tasks reads what tfedge writes, tfedge
reads what tflite-support writes, and both give the same answers on the same images."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from elsewhere_models import plain_model, with_tflite_support_metadata
from mediapipe_side import compare, mediapipe_classify

from tfedge.main import main

pytestmark = pytest.mark.slow
DISPLAY_NAMES = [f"Display {i}" for i in range(10)]


@pytest.fixture(scope="module")
def rgb_models(trained_run, tmp_path_factory) -> dict[str, Path]:
    """The Fashion-MNIST run converted with --rgb-input: the files MediaPipe can run."""
    from tfedge.convert.convert_run import convert_run

    out = tmp_path_factory.mktemp("rgb")
    rows = convert_run(trained_run, ["float32", "int8"], calibration_images=100, verify=False,
                       out_dir=out, rgb_input=True, log=lambda *_: None)
    return {row["variant"]: Path(row["path"]) for row in rows}


@pytest.fixture(scope="module")
def test_images(fashion_dir) -> list[Path]:
    return sorted((fashion_dir / "test").glob("*/*.png"))[::2]  # 50 images, 5 per class


@pytest.mark.real_component("mediapipe")
def test_mediapipe_runs_every_rgb_variant_with_names_and_our_top1(rgb_models, test_images):
    for variant, path in rgb_models.items():
        result = compare(path, test_images)
        assert result["loads"], f"{variant}: {result['error']}"
        assert result["named"] == 1.0 and result["agreement"] == 1.0, (variant, result)
        assert result["largest_score_difference"] <= 1 / 255 + 1e-6, (variant, result)
        assert result["tfedge_warnings"] == []


@pytest.mark.real_component("mediapipe")
def test_mediapipe_refuses_a_gray_model_and_inspect_said_so(tflite_models, test_images, capsys):
    result = mediapipe_classify(tflite_models["float32"], test_images[:1])
    assert not result["ok"] and "RGB" in result["error"]
    assert main(["inspect", str(tflite_models["float32"]), "--no-load"]) == 0
    out = capsys.readouterr().out
    assert "MediaPipe Tasks: cannot run it:" in out and "--rgb-input" in out


@pytest.mark.real_component("tflite-support")
def test_tflite_support_reads_our_metadata(rgb_models, tmp_path):
    import json
    import subprocess

    from side_venv import side_python

    script = ("import json, sys\nfrom tflite_support import metadata\n"
              "d = metadata.MetadataDisplayer.with_model_file(sys.argv[1])\n"
              "print(json.dumps({'json': json.loads(d.get_metadata_json()), "
              "'files': d.get_packed_associated_file_list()}))")
    result = subprocess.run([str(side_python("tflite-support")), "-c", script, str(rgb_models["int8"])],
                            capture_output=True, text=True, timeout=300, check=True)
    shown = json.loads(result.stdout.strip().splitlines()[-1])
    assert sorted(shown["files"]) == ["labels.txt", "tfedge_card.json"]
    assert shown["json"]["min_parser_version"] == "1.0.0"
    image = shown["json"]["subgraph_metadata"][0]["input_tensor_metadata"][0]
    assert image["content"]["content_properties"]["color_space"] == "RGB"
    assert image["process_units"][0]["options"] == {"mean": [0.0], "std": [1.0]}
    with zipfile.ZipFile(rgb_models["int8"]) as archive:
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_STORED}


@pytest.fixture(scope="module")
def elsewhere(trained_run, tmp_path_factory) -> dict[str, Path]:
    """tflite-support-written metadata on plain models of each input convention."""
    from tfedge.convert.calibration import calibration_pixels
    from tfedge.convert.run_folder import open_run

    run = open_run(trained_run)
    pixels = calibration_pixels(run.items("train"), run.card, 50)
    out = tmp_path_factory.mktemp("elsewhere")
    models = {}
    for convention in ("0,1", "-1,1", "0,255", "uint8"):
        name = convention.replace(",", "_").replace("-", "m")
        plain = out / f"plain_{name}.tflite"
        plain.write_bytes(plain_model(run.saved_model, convention, pixels))
        models[convention] = with_tflite_support_metadata(
            plain, run.card.labels, out / f"{name}.tflite", convention,
            display_names=DISPLAY_NAMES if convention == "0,1" else None)
        plain.unlink()
    return models


@pytest.mark.real_component("mediapipe", "tflite-support")
def test_models_from_elsewhere_give_mediapipe_s_accuracy(elsewhere, test_images):
    truth = [path.parent.name for path in test_images]
    for convention, path in elsewhere.items():
        assert not path.with_name("labels.txt").exists()
        result = compare(path, test_images, truth)
        assert result["loads"] and result["tfedge_warnings"] == [], (convention, result)
        assert abs(result["tfedge_accuracy"] - result["mediapipe_accuracy"]) <= 0.005, (convention, result)
        assert result["agreement"] == 1.0, (convention, result)


@pytest.mark.real_component("tflite-support")
def test_display_names_come_from_the_locale_label_file(elsewhere, trained_run, capsys):
    from tfedge.edge.card import load_card
    from tfedge.edge.classify import Classifier

    classifier = Classifier(elsewhere["0,1"])
    assert classifier.labels == load_card(trained_run / "card.json").labels
    assert classifier.card.provenance["display_names"] == DISPLAY_NAMES
    assert main(["inspect", str(elsewhere["0,1"]), "--no-load"]) == 0
    assert "TENSOR_AXIS_LABELS file" in capsys.readouterr().out
