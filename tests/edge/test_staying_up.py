"""A real `tfedge run` process: SIGINT/SIGTERM stop it cleanly; a source that never opens."""

import json
import os
import signal
import subprocess
import sys
import threading

import pytest
from mjpeg_server import MjpegServer

from tfedge.edge.classify import Classifier


def start_run(*args):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "tfedge", "run", *args, "--headless"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def read_stderr_in_background(process):
    lines = []
    thread = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)
    thread.start()
    return lines, thread


@pytest.mark.parametrize("signal_number, exit_code", [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_signal_stops_a_live_run_flushes_and_releases_the_stream(tflite_models, signal_number, exit_code):
    with MjpegServer(fps=30) as server:  # an endless live stream
        process = start_run(str(tflite_models["int8"]), "--source", server.url)
        stderr, reader = read_stderr_in_background(process)
        first = json.loads(process.stdout.readline())  # it is classifying
        second = json.loads(process.stdout.readline())  # two frames: their order can be checked
        process.send_signal(signal_number)
        rest = process.stdout.read().splitlines()
        code = process.wait(timeout=120)
        reader.join(5)
    assert code == exit_code, "".join(stderr)
    # the first line is a frame's result (a label of the model's), and every frame after it is a
    # newer one, each classified once: the latest-frame handoff never repeats or reorders frames
    assert first["label"] in Classifier(tflite_models["int8"]).labels and 0 < first["score"] <= 1
    indexes = [first["frame"], second["frame"]] + [json.loads(line)["frame"] for line in rest[:-1]]
    assert all(isinstance(index, int) for index in indexes) and indexes[0] >= 0
    assert indexes == sorted(set(indexes)), indexes
    summary = json.loads(rest[-1])["summary"]
    assert summary["stopped_by"] == "signal" and summary["frames"] >= 2
    assert summary["frames"] == 2 + len(rest) - 1  # every classified frame's line was flushed
    assert f"stopped by {signal.Signals(signal_number).name}" in "".join(stderr)
    assert server.connections == 1


def test_source_that_never_opens_is_exit_6(tflite_models, free_port):
    process = start_run(str(tflite_models["int8"]), "--source", f"http://127.0.0.1:{free_port}/cam.mjpg")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 6
    assert err.strip().splitlines()[-1].startswith("tfedge run: error: cannot open stream")
    assert "--wait-for-source" in err and out == ""


def test_camera_that_does_not_exist_is_exit_6(capsys, tflite_models):
    from tfedge.main import main

    code = main(["run", str(tflite_models["int8"]), "--source", "57", "--headless"])
    assert code == 6 and "cannot open camera 57" in capsys.readouterr().err


def test_wait_for_source_retries_until_the_stream_comes_up(tflite_models, free_port):
    process = start_run(str(tflite_models["int8"]), "--source", f"http://127.0.0.1:{free_port}/cam.mjpg",
                        "--wait-for-source", "--max-frames", "5")
    for line in process.stderr:
        if "--wait-for-source: retrying" in line:
            break
    with MjpegServer(port=free_port):
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "source opened" in err
    assert json.loads(out.splitlines()[-1])["summary"]["frames"] == 5


# Under QEMU a signal can land while OpenCV's FFmpeg is inside a (much slower) connect attempt,
# which Python only sees when that call returns; the behaviour is the same, the wait is not.
@pytest.mark.no_emulation
def test_signal_while_waiting_for_the_source_ends_the_wait(tflite_models, free_port):
    process = start_run(str(tflite_models["int8"]), "--source", f"http://127.0.0.1:{free_port}/cam.mjpg",
                        "--wait-for-source")
    try:
        for line in process.stderr:
            if "retrying" in line:
                break
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0 and "stopped before the source opened" in err
