"""Hot swap in a running `tfedge run`: a replaced model file takes over between two frames, a bad
one is refused and the running model goes on."""

import json
import os
import signal
import time
from pathlib import Path

import pytest
from live_run import LiveRun

from tfedge.edge.card import embed_card, read_embedded_card
from tfedge.edge.classify import Classifier
from tfedge.edge.live.hot_swap import HotSwap, model_sha256
from tfedge.edge.live.service import ServiceSettings, unit_text


def install(content: bytes, path: Path) -> str:
    """Put `content` at `path` the way deploy does (temp name beside it, then a rename)."""
    temp = path.with_name(f".{path.name}.new")
    temp.write_bytes(content)
    os.replace(temp, path)
    import hashlib

    return hashlib.sha256(content).hexdigest()


def changed_card(content: bytes, **changes) -> bytes:
    return embed_card(content, read_embedded_card(content).replace(**changes))


def test_a_replaced_model_takes_over_and_bad_ones_are_refused(tflite_models, slow_video, tmp_path):
    first, second = tflite_models["float32"].read_bytes(), tflite_models["int8"].read_bytes()
    labels = read_embedded_card(first).labels
    path = tmp_path / "model.tflite"
    sha_first = install(first, path)
    run = LiveRun(path, "--source", str(slow_video), "--realtime", "--on", labels[0], "--cooldown", "1000",
                  "--snapshot-dir", str(tmp_path / "snapshots"))
    try:
        start = run.wait_for(lambda line: "frame" in line, what="a first result")
        assert start["model"] == sha_first[:12]
        sha_second = install(second, path)
        change = run.event("model_change", after=start["frame"])
        event = change["event"]
        assert event["previous"] == sha_first and event["sha256"] == sha_second and event["labels"] == labels
        assert event["load_ms"] > 0 and event["self_test_ms"] > 0 and change["model"] == sha_second[:12]
        # the pipeline survives SIGHUP (systemctl reload); the same bytes again change nothing
        run.process.send_signal(signal.SIGHUP)
        last = change["frame"]
        bad = {
            "truncated": (second[: len(second) // 2], "not a valid .tflite"),
            "not a model": (b"#!/bin/sh\necho hello\n" * 50, "not a valid .tflite"),
            "other labels": (changed_card(second, labels=[f"x{i}" for i in range(len(labels))]),
                             f"lacks the label {labels[0]!r}"),
            "altered self-test": (changed_card(second, self_test=dict(
                read_embedded_card(second).self_test,
                scores=[list(reversed(s)) for s in read_embedded_card(second).self_test["scores"]])),
                "self-test failed"),
        }
        for name, (content, why) in bad.items():
            install(content, path)
            rejected = run.event("model_rejected", after=last)
            assert why in rejected["event"]["reason"], name
            assert rejected["model"] == sha_second[:12], name
            last = rejected["frame"]
        assert run.process.poll() is None
    finally:
        summary = run.stop()
    results = run.results()
    assert summary["frames"] == len(results) > 0
    frames = [r["frame"] for r in results]
    assert frames == sorted(set(frames))
    switch = results.index(change)
    assert results[switch - 1]["model"] == sha_first[:12]  # the first result of the new model has it
    assert {r["model"] for r in results[:switch]} == {sha_first[:12]}
    assert {r["model"] for r in results[switch:]} == {sha_second[:12]}
    assert [r["event"]["type"] for r in results if r["event"]].count("model_change") == 1
    refused = [line for line in run.errors if " refused: " in line]
    assert len(refused) == len(bad) and all("still running " + sha_second[:12] in line for line in refused)


def test_reload_on_request_and_the_next_frame_is_prepared_for_the_new_model(tflite_models, tmp_path):
    path = tmp_path / "model.tflite"
    install(tflite_models["float32"].read_bytes(), path)
    current = Classifier(path)
    swap = HotSwap(current, path, Classifier, poll_s=3600, log=lambda _line: None).start()
    try:
        frame = type("Frame", (), {"image": None, "tensor": None, "prepared_for": None})()
        import numpy as np

        frame.image = np.zeros((64, 64, 3), np.uint8)
        frame.prepared_for, frame.tensor = swap.prepare(frame.image)  # by the capture thread, for model 0
        # the file's bytes are replaced in place (same identity would need a reload request)
        install(tflite_models["int8"].read_bytes(), path)
        swap.request_reload()
        deadline = time.monotonic() + 30
        while swap._ready is None and time.monotonic() < deadline:
            time.sleep(0.05)
        classifier, tensor, change = swap.input_for(frame)
        assert change["type"] == "model_change" and tensor is None  # prepared for the old model: again
        assert model_sha256(classifier) == swap.sha256 == change["sha256"] != model_sha256(current)
        assert swap.pop_event() is None
        frame.prepared_for, frame.tensor = swap.prepare(frame.image)
        assert frame.prepared_for is classifier and swap.input_for(frame)[1] is frame.tensor
    finally:
        swap.stop()


def test_frames_queued_without_pictures_are_classified_by_the_model_they_were_prepared_for(
        tflite_models, tmp_path):
    """A file run whose sinks need no pictures queues tensors only: those prepared for the running
    model are classified by it, and the new model takes over at the first frame prepared for it;
    a newer file waits until that model has taken over."""
    import numpy as np

    from tfedge.edge.live.capture import Frame

    path = tmp_path / "model.tflite"
    install(tflite_models["float32"].read_bytes(), path)
    current = Classifier(path)
    swap = HotSwap(current, path, Classifier, poll_s=3600, log=lambda _line: None).start()

    def wait_for_ready():
        deadline = time.monotonic() + 30
        while swap._ready is None and time.monotonic() < deadline:
            time.sleep(0.05)
        return swap._ready[0]

    def prepared(index):  # as the capture thread queues a frame without its picture
        owner, tensor = swap.prepare(image)
        return Frame(index, None, tensor, 0.0, owner)

    try:
        image = np.zeros((64, 64, 3), np.uint8)
        queued = [prepared(i) for i in range(3)]
        install(tflite_models["int8"].read_bytes(), path)
        swap.request_reload()
        waiting = wait_for_ready()
        later = prepared(3)
        assert later.prepared_for is waiting  # prepared for the model about to take over
        install(tflite_models["float32"].read_bytes(), path)  # a newer file meanwhile
        swap.request_reload()
        time.sleep(1.0)
        assert swap._ready[0] is waiting  # not replaced: frames are prepared for it already
        for frame in queued:
            classifier, tensor, change = swap.input_for(frame)
            assert classifier is current and tensor is frame.tensor and change is None
        classifier, tensor, change = swap.input_for(later)
        assert classifier is waiting and tensor is later.tensor and change["type"] == "model_change"
        newest = wait_for_ready()  # the request made while it waited is carried out now
        assert newest is not waiting and model_sha256(newest) == model_sha256(current)
    finally:
        swap.stop()


def test_a_file_run_without_pictures_swaps_models_between_two_frames(tflite_models, slow_video, tmp_path):
    """The whole path: a file run whose only output needs no pictures (tensors queued ahead), a
    model replaced mid-run. Every frame is classified once, by one model or the other, and the
    results switch model exactly once, at the model_change event."""
    import threading

    from tfedge.edge.live.capture import Capture
    from tfedge.edge.live.pipeline import run_pipeline
    from tfedge.edge.live.sources import make_source

    path = tmp_path / "model.tflite"
    sha_first = install(tflite_models["float32"].read_bytes(), path)
    classifier = Classifier(path)
    models = HotSwap(classifier, path, Classifier, log=lambda _line: None).start()

    class Results:  # like JSON lines: keeps results, never looks at pictures
        needs_frames = False

        def __init__(self):
            self.results, self.frames_seen = [], set()

        def emit(self, result, frame=None):
            self.frames_seen.add(frame is None)
            self.results.append(result)
            if len(self.results) == 20:  # hold the run here until the new model waits to take over
                deadline = time.monotonic() + 60
                while models._ready is None and time.monotonic() < deadline:
                    time.sleep(0.02)

        def close(self, summary):
            self.summary = summary

    sink = Results()
    source = make_source(str(slow_video))
    source.open()
    capture = Capture(source, prepare=models.prepare, keep_images=False).start()
    run = threading.Thread(target=lambda: run_pipeline(classifier, capture, [sink], models=models))
    run.start()
    deadline = time.monotonic() + 60
    while len(sink.results) < 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    sha_second = install(tflite_models["int8"].read_bytes(), path)
    run.join(120)
    models.stop()
    results = sink.results
    assert not run.is_alive() and sink.frames_seen == {True}
    assert [r["frame"] for r in results] == list(range(sink.summary["frames"])) and len(results) == 200
    switch = [i for i, r in enumerate(results) if r["event"] and r["event"]["type"] == "model_change"]
    assert len(switch) == 1 and 20 <= switch[0] < 200
    assert {r["model"] for r in results[:switch[0]]} == {sha_first[:12]}
    assert {r["model"] for r in results[switch[0]:]} == {sha_second[:12]}


def test_service_units_reload_with_sighup():
    text = unit_text(ServiceSettings(["/usr/bin/tfedge", "run", "m.tflite"]))
    assert "ExecReload=/bin/kill -HUP $MAINPID" in text.splitlines()
    json.dumps(text)


def test_the_web_status_and_the_mqtt_heartbeat_name_the_running_model(free_port):
    from tfedge.edge.sinks.mqtt import MqttSink
    from tfedge.edge.sinks.web import LiveState

    state = LiveState({"model": "m.tflite", "model_sha256": "a" * 64})
    assert state.status()["model_sha"] == "a" * 12  # before the first result: the model it started with
    state.update({"frame": 0, "label": "x", "score": 1.0, "model": "b" * 12, "event": None})
    assert state.status()["model_sha"] == "b" * 12  # then the model that made the latest result
    pytest.importorskip("paho.mqtt.client", reason="paho-mqtt is missing (pip install -e '.[dev]')")
    sink = MqttSink(f"mqtt://127.0.0.1:{free_port}/t", info={"model_sha256": "a" * 64},
                    flush_timeout_s=0.1, log=lambda _line: None)
    try:
        assert sink.heartbeat()["model_sha"] == "a" * 12
        sink.emit({"frame": 0, "label": "x", "score": 1.0, "model": "b" * 12, "event": None})
        assert sink.heartbeat()["model_sha"] == "b" * 12
    finally:
        sink.close({})


def test_a_file_written_in_place_is_loaded_once_it_is_complete(tflite_models, tmp_path):
    """scp writes the file in place: the half-written file is never refused, the whole one taken."""
    path = tmp_path / "model.tflite"
    install(tflite_models["float32"].read_bytes(), path)
    lines = []
    swap = HotSwap(Classifier(path), path, Classifier, poll_s=0.3, log=lines.append).start()
    try:
        content = tflite_models["int8"].read_bytes()
        with open(path, "wb") as file:  # truncated at once, then written in chunks, slower than a look
            for start in range(0, len(content), len(content) // 4):
                file.write(content[start:start + len(content) // 4])
                file.flush()
                time.sleep(0.01)
        deadline = time.monotonic() + 30
        while swap._ready is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert swap._ready is not None and swap.rejections == 0, lines
    finally:
        swap.stop()
