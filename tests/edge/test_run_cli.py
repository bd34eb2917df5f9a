"""`tfedge run` on a real encoded video and on an image folder."""

import json

import pytest
from labelled_video import read_frame_labels

from tfedge.main import main


def run_headless(capsys, *args):
    code = main(["run", *args, "--headless"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return code, lines


@pytest.mark.parametrize("quant", ["float32", "int8"])
def test_headless_video_gives_a_line_per_frame_and_a_summary(capsys, tflite_models,
                                                            labelled_video, quant):
    code, lines = run_headless(capsys, str(tflite_models[quant]), "--source", str(labelled_video))
    assert code == 0
    frames, summary = lines[:-1], lines[-1]["summary"]
    truth = read_frame_labels(labelled_video)
    assert len(frames) == len(truth) == summary["frames"]
    assert [f["frame"] for f in frames] == list(range(len(truth)))
    for record in frames:
        assert set(record) >= {"frame", "timestamp", "label", "score", "inference_ms"}
        assert 0.0 <= record["score"] <= 1.0
    assert set(summary) >= {"frames", "fps", "mean_inference_ms", "p95_inference_ms"}
    accuracy = sum(f["label"] == truth[f["frame"]] for f in frames) / len(frames)
    assert accuracy > 0.3  # a 3-epoch model on 48 images per class; chance is 0.1


def test_image_folder_source_and_max_frames(capsys, tflite_models, fashion_dir):
    code, lines = run_headless(capsys, str(tflite_models["int8"]), "--source",
                               str(fashion_dir / "test"), "--max-frames", "7")
    assert code == 0 and lines[-1]["summary"]["frames"] == 7


def test_no_display_falls_back_to_headless(capsys, tflite_models, labelled_video):
    code = main(["run", str(tflite_models["int8"]), "--source", str(labelled_video),
                 "--max-frames", "3"])
    captured = capsys.readouterr()
    assert code == 0
    assert "no display" in captured.err
    assert json.loads(captured.out.splitlines()[-1])["summary"]["frames"] == 3
