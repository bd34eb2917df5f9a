"""The run loop end to end on real videos, streams and models: results, smoothing, triggers, sinks."""

import json
import sys
import time

import cv2
import numpy as np
import pytest
from labelled_video import read_frame_labels
from mjpeg_server import MjpegServer

from tfedge.edge.live.results import LabelChanges
from tfedge.edge.sinks import shown_label
from tfedge.edge.sinks.jsonlines import JsonLinesSink
from tfedge.edge.sinks.overlay import OverlaySink, draw_overlay
from tfedge.main import main


def run_lines(capsys, *args):
    code = main(["run", *args, "--headless"])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


def test_results_carry_top_k_smoothing_events_and_live_stats(capsys, tflite_models, labelled_video):
    code, lines, _ = run_lines(capsys, str(tflite_models["int8"]), "--source", str(labelled_video),
                               "--top-k", "3", "--score-threshold", "0.05", "--smoothing", "vote",
                               "--window", "4", "--votes", "3")
    assert code == 0
    frames, summary = lines[:-1], lines[-1]["summary"]
    assert len(frames) == len(read_frame_labels(labelled_video))
    for record in frames:
        assert 1 <= len(record["top_k"]) <= 3 or record["score"] < 0.05
        assert all(score >= 0.05 for _, score in record["top_k"])
        assert [s for _, s in record["top_k"]] == sorted((s for _, s in record["top_k"]), reverse=True)
        assert set(record["stats"]) == {"frames", "fps", "dropped_frames", "reconnects", "uptime_s"}
    # the stable label changes exactly where an event says so, and never on a one-frame blip
    previous = None
    for record in frames:
        if record["stable_label"] != previous:
            assert record["event"] == {"type": "label_change", "label": record["stable_label"],
                                       "previous": previous, "score": record["stable_score"],
                                       "timestamp": record["timestamp"]}
            previous = record["stable_label"]
        else:
            assert record["event"] is None
    raw_changes = sum(a["label"] != b["label"] for a, b in zip(frames, frames[1:]))
    stable_changes = sum(r["event"] is not None for r in frames)
    assert stable_changes < raw_changes
    for key in ("frames", "fps", "p50_inference_ms", "p95_inference_ms", "mean_inference_ms",
                "dropped_frames", "reconnects"):
        assert key in summary
    assert summary["dropped_frames"] == 0 and summary["stopped_by"] == "end of source"


def test_trigger_runs_a_command_with_label_and_score_and_saves_snapshots(capsys, tflite_models,
                                                                        labelled_video, tmp_path):
    code, lines, _ = run_lines(capsys, str(tflite_models["int8"]), "--source", str(labelled_video),
                               "--smoothing", "none")
    counts = {}
    for record in lines[:-1]:
        counts[record["stable_label"]] = counts.get(record["stable_label"], 0) + 1
    label = max(counts, key=counts.get)
    log = tmp_path / "fired.txt"
    snapshots = tmp_path / "snaps"
    script = tmp_path / "on_trigger.py"
    script.write_text(f"import os\nwith open({str(log)!r}, 'a') as out:\n"
                      "    out.write(' '.join(os.environ[k] for k in ('TFEDGE_LABEL', 'TFEDGE_SCORE', "
                      "'TFEDGE_SNAPSHOT')) + '\\n')\n")
    command = f"{sys.executable} {script}"
    code, lines, err = run_lines(capsys, str(tflite_models["int8"]), "--source", str(labelled_video),
                                 "--smoothing", "none", "--on", label, "--min-score", "0.0",
                                 "--cooldown", "3600", "--exec", command, "--snapshot-dir", str(snapshots))
    assert code == 0, err
    assert lines[-1]["summary"]["triggers_fired"] == 1  # the cooldown holds back every later frame
    wait_for_file(log)  # the command runs on its own; a stopping run does not wait long for it
    fired = log.read_text().splitlines()
    assert len(fired) == 1
    fired_label, score, snapshot = fired[0].split(" ")
    assert fired_label == label and 0.0 <= float(score) <= 1.0
    saved = list(snapshots.iterdir())
    assert [p.name for p in saved] == [snapshot.rsplit("/", 1)[-1]]
    image = cv2.imread(str(saved[0]))
    assert image is not None and image.shape == (112, 112, 3)


def wait_for_file(path, seconds=60):
    for _ in range(seconds * 20):
        if path.exists() and path.read_text().endswith("\n"):
            return
        time.sleep(0.05)


def test_trigger_needs_an_action_and_a_label_of_the_model(capsys, tflite_models, labelled_video, tmp_path):
    code = main(["run", str(tflite_models["int8"]), "--source", str(labelled_video), "--on", "Bag"])
    assert code == 2 and "--exec" in capsys.readouterr().err
    code = main(["run", str(tflite_models["int8"]), "--source", str(labelled_video), "--on", "Cat",
                 "--snapshot-dir", str(tmp_path)])
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and "'Cat' is not a label of this model" in line and "Ankle_boot" in line


def test_live_stream_that_drops_is_reconnected_and_logged_once_per_drop(capsys, tflite_models):
    with MjpegServer(frames_per_connection=12, refuse_after_drop=2) as server:
        code, lines, err = run_lines(capsys, str(tflite_models["int8"]), "--source", server.url,
                                     "--max-frames", "30")
    summary = lines[-1]["summary"]
    assert code == 0 and summary["frames"] == 30
    assert summary["reconnects"] >= 2 and server.refused >= 2
    # every finished reconnect was announced once; the run may stop (max frames) during one more
    assert summary["reconnects"] <= err.count("stopped delivering frames; reconnecting") \
        <= summary["reconnects"] + 1
    assert err.count("source back after 3 attempts") == summary["reconnects"]
    assert lines[-2]["stats"]["reconnects"] == summary["reconnects"]


def test_realtime_file_playback_keeps_the_latest_frame(capsys, tflite_models, labelled_video):
    code, lines, _ = run_lines(capsys, str(tflite_models["int8"]), "--source", str(labelled_video),
                               "--realtime", "--max-frames", "5")
    indexes = [record["frame"] for record in lines[:-1]]
    assert code == 0 and len(indexes) == 5 and indexes == sorted(set(indexes))


class FakeDisplay:
    """Stands in for the window process (the real one: tests/edge/test_window.py under Xvfb)."""

    def __init__(self, quit_after=None, gone_after=None):
        self.shown, self.closed, self.quit = [], False, False
        self.quit_after, self.gone_after = quit_after, gone_after

    def show(self, result, frame, changed_at):
        if self.gone_after is not None and len(self.shown) >= self.gone_after:
            return False
        self.shown.append(draw_overlay(frame, result))
        self.quit = self.quit_after is not None and len(self.shown) >= self.quit_after
        return True

    def poll(self):
        return True

    def close(self):
        self.closed = True


def result(label="Bag", score=0.9):
    return {"label": label, "score": score, "stable_label": label, "stable_score": score, "fps": 30.0,
            "inference_ms": 1.5}


def test_overlay_draws_in_its_own_thread_and_never_changes_the_frame():
    display = FakeDisplay()
    sink = OverlaySink(display)
    frame = np.zeros((120, 160, 3), np.uint8)
    for _ in range(50):
        sink.emit(result(), frame)
    sink.close({})
    assert 1 <= len(display.shown) <= 50 and display.closed
    assert frame.max() == 0  # drawn on a copy
    assert display.shown[-1].max() == 255


def test_small_frames_are_enlarged_for_the_screen_only():
    from tfedge.edge.sinks.window import enlarged_for_screen

    small = np.arange(120 * 160 * 3, dtype=np.uint8).reshape(120, 160, 3)
    shown = enlarged_for_screen(small)
    assert shown.shape == (480, 640, 3) and (shown[::4, ::4] == small).all()  # sharp, whole factor
    big = np.zeros((480, 800, 3), np.uint8)
    assert enlarged_for_screen(big) is big
    assert draw_overlay(small, result()).shape == small.shape  # the web view's frames keep their size


def test_overlay_quit_key_asks_the_run_to_stop(capsys, tflite_models, labelled_video, monkeypatch):
    display = FakeDisplay(quit_after=1)
    monkeypatch.setattr("tfedge.edge.commands.run.open_window", lambda *_: display)
    # at the video's own 30 FPS: played as fast as the model goes, it can end (in ~30 ms) before
    # the overlay's thread has shown a frame and seen the key (seen on a busy machine)
    code = main(["run", str(tflite_models["int8"]), "--source", str(labelled_video), "--realtime"])
    err = capsys.readouterr().err
    assert code == 0 and '"stopped_by": "output"' in err and display.closed


def test_overlay_goes_on_headless_once_the_display_is_gone():
    class Recorder:
        def __init__(self):
            self.emitted, self.closed = [], None

        def emit(self, result, frame):
            self.emitted.append(result)

        def close(self, summary):
            self.closed = summary

    fallbacks, said = [], []
    sink = OverlaySink(FakeDisplay(gone_after=2), fallback_factory=lambda: fallbacks.append(Recorder())
                       or fallbacks[-1], log=said.append)
    frame = np.zeros((20, 20, 3), np.uint8)
    deadline = time.monotonic() + 10
    while not fallbacks and time.monotonic() < deadline:
        sink.emit(result(), frame)
        time.sleep(0.01)
    for _ in range(3):
        sink.emit(result(), frame)
    sink.close({"frames": 9})
    assert len(said) == 1 and "display went away" in said[0] and not sink.stop_requested
    assert len(fallbacks[0].emitted) == 3 and fallbacks[0].closed == {"frames": 9}


def test_label_changes_make_an_event_only_where_the_stable_label_changes():
    changes = LabelChanges()
    stable = [None, "Bag", "Bag", "Coat", "Coat"]
    events = [changes.event({"stable_label": label, "stable_score": 0.5 + i / 10, "timestamp": 100.0 + i})
              for i, label in enumerate(stable)]
    assert events == [None,
                      {"type": "label_change", "label": "Bag", "previous": None, "score": 0.6,
                       "timestamp": 101.0},
                      None,
                      {"type": "label_change", "label": "Coat", "previous": "Bag", "score": 0.8,
                       "timestamp": 103.0},
                      None]


def test_sinks_show_the_stable_label_once_there_is_one():
    assert shown_label(result("Bag", 0.9) | {"label": "Coat", "score": 0.4}) == ("Bag", 0.9)
    assert shown_label({"label": "Coat", "score": 0.4, "stable_label": None, "stable_score": 0.0}) == (
        "Coat", 0.4)
    assert shown_label({}) == (None, None)  # before the first frame


def test_draw_overlay_banner_top_k_bars_and_label_change():
    from tfedge.edge.sinks.overlay import BANNER_BGR, CHANGED_BGR

    frame = np.zeros((60, 200, 3), np.uint8)
    plain = draw_overlay(frame, result())
    assert tuple(plain[4, -4]) == BANNER_BGR and plain[-4, -4].max() == 0
    changed = draw_overlay(frame, result(), changed=True)
    assert tuple(changed[4, -4]) == CHANGED_BGR
    bars = draw_overlay(frame, result() | {"top_k": [["Bag", 0.9], ["Coat", 0.1]]}, show_top_k=True)
    assert (bars != plain).any(axis=2).sum() > 1000


def test_jsonlines_sink_stops_the_run_when_its_reader_is_gone():
    class ClosedPipe:
        def write(self, text):
            raise BrokenPipeError

        def flush(self):
            pass

    sink = JsonLinesSink(ClosedPipe())
    sink.emit({"frame": 0}, None)
    sink.close({})
    assert sink.stop_requested


class BlockedStream:
    """Like a pipe whose reader stopped reading: write blocks until `release` is set."""

    def __init__(self):
        import threading

        self.release = threading.Event()
        self.lines = []

    def write(self, text):
        self.release.wait()
        self.lines.append(text)

    def flush(self):
        pass


def test_jsonlines_emit_returns_while_its_stream_is_blocked():
    stream = BlockedStream()
    sink = JsonLinesSink(stream)
    for index in range(500):
        sink.emit({"frame": index}, None)  # would hang here if emit wrote itself
    assert stream.lines == []
    stream.release.set()
    sink.close({"frames": 500})
    lines = "".join(stream.lines).splitlines()  # written in batches: several lines a write
    assert [json.loads(line).get("frame") for line in lines[:-1]] == list(range(500))
    assert json.loads(lines[-1]) == {"summary": {"frames": 500}}


@pytest.mark.parametrize("args, message", [(["--top-k", "0"], "--top-k"), (["--window", "0"], "window"),
                                           (["--max-frames", "0"], "--max-frames"),
                                           (["--width", "-5"], "--width")])
def test_bad_run_options_are_usage_errors(capsys, tflite_models, labelled_video, args, message):
    code = main(["run", str(tflite_models["int8"]), "--source", str(labelled_video), "--headless", *args])
    assert code == 2 and message in capsys.readouterr().err


def test_jsonlines_emit_waits_beyond_its_backlog_and_drops_nothing():
    import threading

    stream = BlockedStream()
    sink = JsonLinesSink(stream, backlog=5, batch_s=0.001)
    emitted = []

    def emit_all():
        for index in range(40):
            sink.emit({"frame": index}, None)
            emitted.append(index)

    emitter = threading.Thread(target=emit_all)
    emitter.start()
    emitter.join(0.5)
    assert emitter.is_alive() and len(emitted) < 40  # waits: the writer is stuck with its batch
    stream.release.set()
    emitter.join(5)
    sink.close({"frames": 40})
    lines = "".join(stream.lines).splitlines()
    assert [json.loads(line).get("frame") for line in lines[:-1]] == list(range(40))
