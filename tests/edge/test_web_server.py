"""The web view's server over real sockets: API, stream, token, loopback default, path traversal."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time

import cv2
import numpy as np
import pytest
from sink_helpers import as_pipeline_results, wait_until

from tfedge.edge.sinks.web import WebSink, parse_serve_address
from tfedge.errors import UsageError
from tfedge.main import main


@pytest.fixture
def frames(labelled_video):
    capture = cv2.VideoCapture(str(labelled_video))
    decoded = [capture.read()[1] for _ in range(10)]
    capture.release()
    return decoded


class FakeClock:
    """Stands in for the web module's `time`: `time()` is `now`, the rest is the real module."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def __getattr__(self, name):
        return getattr(time, name)


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    """The web sink's wall clock, set by the test (ask for it before `sink`)."""
    fake = FakeClock(1000.0)
    monkeypatch.setattr("tfedge.edge.sinks.web.time", fake)
    return fake


@pytest.fixture
def sink():
    web = WebSink(port=0, log=lambda _: None, info={"model": "m.tflite", "backend": "litert"})
    yield web
    web.close({})


def result(index, label="Coat", **extra):
    return {"frame": index, "timestamp": 1000.0 + index, "label": label, "score": 0.8,
            "inference_ms": 1.5, "fps": 30.0, **extra}


def request(port, path, headers=None, method="GET"):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(method, path, headers=headers or {})
    answer = connection.getresponse()
    body = answer.read()
    connection.close()
    return answer.status, dict(answer.getheaders()), body


def raw_request(port, target, host="127.0.0.1"):
    """Sends the request line exactly as given (no client-side normalisation of `target`)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(f"GET {target} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode("latin-1"))
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1]), data


class InferenceLoop(threading.Thread):
    """Emits a result and a frame every millisecond, as the pipeline's loop would."""

    def __init__(self, sink, frame, fixed_result=None):
        super().__init__(daemon=True)
        self.sink, self.frame, self.count, self.fixed_result = sink, frame, 0, fixed_result
        self.stopping = threading.Event()
        self.start()

    def run(self):
        while not self.stopping.wait(0.001):
            self.sink.emit(self.fixed_result or result(self.count), self.frame)
            self.count += 1

    def stop(self):
        self.stopping.set()
        self.join(30)


class StreamViewer(threading.Thread):
    """Reads /stream.mjpg and keeps every JPEG it gets."""

    def __init__(self, port, path="/stream.mjpg"):
        super().__init__(daemon=True)
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.connection.request("GET", path)
        self.socket = self.connection.sock
        self.answer = self.connection.getresponse()
        self.jpegs = []
        self.start()

    def run(self):
        try:
            while True:
                headers = {}
                line = self.answer.fp.readline()
                while line in (b"\r\n", b"--tfedgeframe\r\n"):
                    line = self.answer.fp.readline()
                while line not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    headers[name.lower()] = value.strip()
                    line = self.answer.fp.readline()
                if not line:
                    return
                self.jpegs.append(self.answer.fp.read(int(headers["content-length"])))
        except (OSError, ValueError):
            return

    def close(self):
        self.socket.shutdown(socket.SHUT_RDWR)
        self.answer.close()
        self.join(30)


def test_status_and_events_report_the_latest_result(clock, sink, frames):
    sink.start({"model": "fashion.tflite", "backend": "litert 2.3", "labels": ["Coat", "Bag"],
                "source": {"source": "video.mp4"}})
    results = as_pipeline_results([result(index, label, stats={"dropped_frames": 3, "reconnects": 1})
                                   for index, label in enumerate(["Coat", "Coat", "Bag", "Bag"])])
    for index, completed in enumerate(results):
        sink.emit(completed, frames[index])
    status_code, headers, body = request(sink.port, "/api/status")
    status = json.loads(body)
    assert status_code == 200 and headers["Content-Type"] == "application/json"
    assert status["model"] == "fashion.tflite" and status["backend"] == "litert 2.3"
    assert (status["label"], status["score"], status["fps"]) == ("Bag", 0.8, 30.0)
    assert (status["frames"], status["dropped_frames"], status["reconnects"]) == (4, 3, 1)
    assert status["uptime_s"] == 0 and status["running"] is True
    clock.now += 42.3  # seconds since the sink started, not since the epoch or the first frame
    assert json.loads(request(sink.port, "/api/status")[2])["uptime_s"] == 42.3
    events = json.loads(request(sink.port, "/api/events")[2])["events"]
    assert [(e["previous"], e["label"], e["timestamp"]) for e in events] == [
        ("Coat", "Bag", 1002.0), (None, "Coat", 1000.0)]


def test_the_smoothed_label_and_the_pipelines_own_events_win(sink, frames):
    change = {"type": "label_change", "label": "Bag", "previous": "Coat", "score": 0.7,
              "timestamp": 1001.0}
    sink.emit(result(0, "Shirt", stable_label="Coat", stable_score=0.9, event=None), frames[0])
    sink.emit(result(1, "Shirt", stable_label="Bag", stable_score=0.7, event=change), frames[1])
    status = json.loads(request(sink.port, "/api/status")[2])
    assert (status["label"], status["score"], status["frame_label"]) == ("Bag", 0.7, "Shirt")
    assert json.loads(request(sink.port, "/api/events")[2])["events"] == [change]


def test_frames_are_encoded_only_while_watched_and_once_for_all_viewers(sink, frames):
    for index in range(50):
        sink.emit(result(index), frames[index % 10])
    assert sink.publisher.encoded == 0  # nobody watched: no JPEG work at all
    assert not sink.needs_frames  # so a file run may queue tensors without their pictures

    viewers = [StreamViewer(sink.port) for _ in range(5)]
    wait_until(lambda: sink.publisher.viewers == 5, "five viewers")
    assert sink.needs_frames
    for round_number in range(1, 6):
        wait_until(lambda: sink.publisher.waiting_for_frame, "the encoder to want a frame")
        sink.emit(result(round_number), frames[round_number])  # one frame, five viewers
        wait_until(lambda n=round_number: all(len(v.jpegs) >= n for v in viewers), "every viewer's frame")
    assert sink.publisher.encoded == 5  # five frames for five viewers: five encodings, not 25
    first = viewers[0].jpegs
    assert all(v.jpegs == first for v in viewers)  # the very same bytes went to everyone
    decoded = cv2.imdecode(np.frombuffer(first[-1], np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == frames[0].shape
    for viewer in viewers:
        viewer.close()
    wait_until(lambda: sink.publisher.viewers == 0, "the viewers to leave")
    assert not sink.needs_frames


def test_a_file_run_keeps_pictures_only_while_someone_watches(tflite_models, labelled_video):
    """`tfedge run --serve` on a file: frames are queued as tensors only while nobody watches;
    a viewer who connects mid-run gets the video within a few frames."""
    from functools import partial

    from sink_helpers import GatedSource

    from tfedge.edge.classify import Classifier
    from tfedge.edge.live.capture import Capture
    from tfedge.edge.live.pipeline import run_pipeline
    from tfedge.edge.live.sources import make_source
    from tfedge.edge.sinks import frames_needed

    classifier = Classifier(tflite_models["int8"], num_threads=1)
    web = WebSink(port=0, log=lambda _: None)
    pictures = []

    class Pictures:  # records which frames came with their picture; needs none itself
        needs_frames = False

        def emit(self, result, frame=None):
            pictures.append((result["frame"], frame is not None))

        def close(self, summary):
            pass

    source = make_source(str(labelled_video))
    source.open()
    gated = GatedSource(source, gate_frames=[20, 40], fps=200.0)
    sinks = [web, Pictures()]
    capture = Capture(gated, prepare=classifier.prepare, keep_images=partial(frames_needed, sinks)).start()
    run = threading.Thread(target=run_pipeline, args=(classifier, capture, sinks), daemon=True)
    run.start()
    wait_until(lambda: gated.reached[20].is_set() and len(pictures) >= 17, "the first frames")
    viewer = StreamViewer(web.port)
    wait_until(lambda: web.publisher.viewers == 1, "the viewer")
    gated.gates[20].set()
    wait_until(lambda: gated.reached[40].is_set() and len(viewer.jpegs) >= 1, "a frame for the viewer")
    viewer.close()
    wait_until(lambda: web.publisher.viewers == 0, "the viewer to leave")
    gated.open_all_gates()
    run.join(60)
    kept = dict(pictures)
    assert not run.is_alive() and sorted(kept) == list(range(len(kept))) and len(kept) > 60
    assert not any(kept[i] for i in range(17))  # nobody watched: tensors only
    assert all(kept[i] for i in range(24, 38))  # watched: pictures, once the 3 read ahead were taken
    assert not any(kept[i] for i in range(48, len(kept)))  # nobody watches again


def test_a_result_without_a_label_still_streams_the_video(sink, frames):
    loop = InferenceLoop(sink, frames[0], {"frame": 0, "timestamp": 1.0})
    try:
        status, headers, body = request(sink.port, "/frame.jpg")
        assert status == 200 and body[:2] == b"\xff\xd8"
        assert json.loads(request(sink.port, "/api/status")[2])["label"] is None
    finally:
        loop.stop()


def test_a_stalled_viewer_does_not_hold_up_inference_or_other_viewers(frames):
    web = WebSink(port=0, log=lambda _: None, send_timeout=2.0)
    big = cv2.resize(frames[0], (1280, 960)) ^ np.random.default_rng(0).integers(
        0, 255, (960, 1280, 3), dtype=np.uint8)  # noise: large JPEGs fill a socket fast
    stalled = socket.create_connection(("127.0.0.1", web.port))
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.sendall(b"GET /stream.mjpg HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")  # and never reads
    loop = InferenceLoop(web, big)
    try:
        wait_until(lambda: web.publisher.viewers == 1, "the stalled viewer to connect")
        viewer = StreamViewer(web.port)
        wait_until(lambda: len(viewer.jpegs) >= 20, "20 frames at the healthy viewer")
        wait_until(lambda: web.publisher.viewers == 1, "the stalled viewer to be dropped")
        frames_then = loop.count
        wait_until(lambda: len(viewer.jpegs) >= 30 and loop.count > frames_then, "more frames")
        viewer.close()
    finally:
        loop.stop()
        stalled.close()
        web.close({})


def test_token_is_needed_on_every_path_including_the_stream(frames):
    web = WebSink(port=0, token="s3cret", log=lambda _: None)
    loop = InferenceLoop(web, frames[0])
    try:
        for path in ["/", "/app.js", "/api/status", "/api/events", "/stream.mjpg", "/frame.jpg",
                     "/nope", "/?token=wrong", "/api/status?token=s3cre"]:
            assert request(web.port, path)[0] == 401, path
        assert request(web.port, "/", {"Authorization": "Bearer nope"})[0] == 401
        assert request(web.port, "/?token=s3cret")[0] == 200
        assert request(web.port, "/api/status", {"Authorization": "Bearer s3cret"})[0] == 200
        assert request(web.port, "/api/events", {"X-Tfedge-Token": "s3cret"})[0] == 200
        status, headers, body = request(web.port, "/frame.jpg?token=s3cret")
        assert status == 200 and headers["Content-Type"] == "image/jpeg" and body[:2] == b"\xff\xd8"
    finally:
        loop.stop()
        web.close({})


def test_loopback_is_the_default_and_other_addresses_need_a_token_or_insecure():
    assert parse_serve_address("8080") == ("127.0.0.1", 8080)
    assert parse_serve_address("0.0.0.0:9000") == ("0.0.0.0", 9000)
    assert parse_serve_address("[::1]:9000") == ("::1", 9000)
    for bad in ["", "http", "70000", "host:", ":80", "[::1]"]:
        with pytest.raises(UsageError):
            parse_serve_address(bad)
    with pytest.raises(UsageError, match="--token"):
        WebSink("0.0.0.0", 0)
    web = WebSink(port=0, log=lambda _: None)
    try:
        assert web.server.server_address[0] == "127.0.0.1"
        other = _non_loopback_address()
        if other:  # the same port through this machine's network address is not served
            with pytest.raises(OSError):
                socket.create_connection((other, web.port), timeout=10).close()
    finally:
        web.close({})


def _non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent; this picks the outgoing address
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


@pytest.mark.parametrize("target", [
    "/../../etc/passwd", "/..%2f..%2fetc%2fpasswd", "/%2e%2e/%2e%2e/etc/passwd",
    "/%252e%252e/%252e%252e/etc/passwd", "/app.js/../../../../etc/passwd", "//etc/passwd",
    "/api/../../../../etc/passwd", "/..\\..\\etc\\passwd", "/.%00./etc/passwd",
    "/web_page.html", "/web.py", "/../web.py", "/edge/sinks/web.py", "/static/../web.py",
    "http://127.0.0.1/../../etc/passwd", "/etc/passwd",
])
def test_no_path_outside_the_page_can_be_read(sink, target):
    status, data = raw_request(sink.port, target)
    assert status in (400, 404)
    assert b"root:" not in data and b"import" not in data


def test_the_page_and_its_assets_are_served_with_safe_headers(sink):
    status, headers, body = request(sink.port, "/")
    assert status == 200 and b'<img id="video"' in body and headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert request(sink.port, "/app.js")[1]["Content-Type"].startswith("text/javascript")
    assert request(sink.port, "/", method="HEAD")[2] == b""
    assert request(sink.port, "/", method="POST")[0] == 501


def test_on_loopback_a_foreign_host_name_is_refused(sink):
    """A DNS-rebinding page (evil.example resolving to 127.0.0.1) cannot read the camera."""
    assert raw_request(sink.port, "/api/status", host="evil.example")[0] == 403
    assert raw_request(sink.port, "/api/status", host=f"localhost:{sink.port}")[0] == 200
    assert raw_request(sink.port, "/api/status", host=f"[::1]:{sink.port}")[0] == 200


def run_cli(capsys, model, video, *options):
    code = main(["run", str(model), "--source", str(video), "--headless", "--max-frames", "5", *options])
    return code, capsys.readouterr()


def test_cli_refuses_an_exposed_address_without_token(capsys, tflite_models, labelled_video):
    code, captured = run_cli(capsys, tflite_models["int8"], labelled_video, "--serve", "0.0.0.0:0")
    errors = [line for line in captured.err.splitlines() if "error" in line]
    assert code == 2 and len(errors) == 1 and "--token" in errors[0] and "--insecure" in errors[0]
    code, captured = run_cli(capsys, tflite_models["int8"], labelled_video, "--insecure")
    assert code == 2 and "--serve" in captured.err
    code, captured = run_cli(capsys, tflite_models["int8"], labelled_video, "--serve", "12ab")
    assert code == 2 and "[HOST:]PORT" in captured.err


def test_cli_serves_with_a_token_or_insecure(capsys, tflite_models, labelled_video):
    for options in (["--serve", "0.0.0.0:0", "--token", "t0ken"], ["--serve", "0.0.0.0:0", "--insecure"],
                    ["--serve", "0"]):
        code, captured = run_cli(capsys, tflite_models["int8"], labelled_video, *options)
        assert code == 0 and "live view at http://" in captured.err
        assert json.loads(captured.out.splitlines()[-1])["summary"]["frames"] == 5


def test_cli_port_in_use_is_an_output_error(capsys, tflite_models, labelled_video):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, captured = run_cli(capsys, tflite_models["int8"], labelled_video, "--serve", str(port))
    assert code == 5 and f"127.0.0.1:{port}" in captured.err and "--serve" in captured.err
