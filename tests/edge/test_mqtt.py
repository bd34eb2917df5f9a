"""The MQTT sink against a real mosquitto broker that each test starts on a free loopback port."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sink_helpers import PipelineThread, as_pipeline_results, free_port, switching_video, wait_until

from tfedge.edge.classify import Classifier
from tfedge.edge.sinks.jsonlines import JsonLinesSink
from tfedge.edge.sinks.mqtt import MqttSink, parse_mqtt_url
from tfedge.errors import DependencyError, UsageError
from tfedge.main import main

MOSQUITTO = shutil.which("mosquitto") or next(
    (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None)


def needs_broker(test):
    """A test that starts real mosquitto brokers: skipped where it is missing, an error under CI."""
    return pytest.mark.real_component("mosquitto")(pytest.mark.skipif(
        MOSQUITTO is None, reason="mosquitto is not installed (apt-get install mosquitto)")(test))


paho = pytest.importorskip("paho.mqtt.client", reason="paho-mqtt is missing (pip install -e '.[dev]')")


class Broker:
    """A mosquitto process with a generated config; stop() and start() keep port and stored sessions."""

    def __init__(self, folder: Path, extra: str = "") -> None:
        self.folder, self.port = folder, free_port()
        folder.mkdir(parents=True, exist_ok=True)
        self.config = folder / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"persistence true\npersistence_location {folder}/\n"
            f"log_dest file {folder}/mosquitto.log\n"
            + ("user root\n" if os.geteuid() == 0 else "")  # root would otherwise switch user
            + (extra or "allow_anonymous true\n"))
        self.process = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.config)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._accepting, "mosquitto to listen")

    def _accepting(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"mosquitto exited: {(self.folder / 'mosquitto.log').read_text()}")
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self) -> None:
        self.process.terminate()  # mosquitto saves its sessions on SIGTERM
        self.process.wait(30)


class Subscriber:
    """A real MQTT client with a persistent session, collecting every message under `topic/#`."""

    def __init__(self, port: int, topic: str, client_id: str = "tfedge-test-subscriber",
                 tls_ca: str | None = None, auth: tuple[str, str] | None = None) -> None:
        self.messages: list[tuple[str, str, bool]] = []
        self.lock = threading.Lock()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  clean_session=False)
        if tls_ca:
            self.client.tls_set(ca_certs=tls_ca)
        if auth:
            self.client.username_pw_set(*auth)
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.client.on_connect = lambda client, *_: client.subscribe(f"{topic}/#", qos=2)
        self.client.on_message = self._on_message
        self.client.connect_async("localhost" if tls_ca else "127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client, userdata, message) -> None:
        with self.lock:
            self.messages.append((message.topic, message.payload.decode(), bool(message.retain)))

    def on(self, topic: str) -> list:
        with self.lock:
            return [(payload, retain) for t, payload, retain in self.messages if t == topic]

    def labels(self, topic: str) -> list[dict]:
        return [json.loads(payload) for payload, _ in self.on(f"{topic}/label")]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def broker(tmp_path):
    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    server = Broker(tmp_path / "broker")
    yield server
    if server.process.poll() is None:
        server.stop()


def expected_changes(results: list[dict]) -> list[dict]:
    """The label changes in the pipeline's own results: its events."""
    return [{**r["event"], "frame": r["frame"]} for r in results if r["event"]]


def without_redeliveries(messages: list[dict]) -> list[dict]:
    """QoS 1 is at-least-once: a message repeated after a reconnect counts once."""
    return [m for i, m in enumerate(messages) if i == 0 or m != messages[i - 1]]


def same_changes(received: list[dict], expected: list[dict]) -> bool:
    return [(m["label"], m["previous"]) for m in received] == [(e["label"], e["previous"]) for e in expected]


@needs_broker
def test_run_publishes_each_label_change_with_its_content(broker, capsys, tflite_models, labelled_video):
    subscriber = Subscriber(broker.port, "tfedge/cam1")
    wait_until(lambda: subscriber.client.is_connected(), "the subscriber")
    code = main(["run", str(tflite_models["int8"]), "--source", str(labelled_video), "--headless",
                 "--mqtt", f"mqtt://127.0.0.1:{broker.port}/tfedge/cam1/"])
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()[:-1]]
    assert code == 0
    wait_until(lambda: ("offline", False) in subscriber.on("tfedge/cam1/status"), "the offline message")
    changes = expected_changes(results)
    received = subscriber.labels("tfedge/cam1")
    assert len(changes) > 5 and same_changes(received, changes)
    by_frame = {r["frame"]: r for r in results}
    for message in received:
        assert message["type"] == "label_change"
        source = by_frame[message["frame"]]
        expected = source["event"] if source.get("event") else source  # the pipeline's own event
        assert (message["score"], message["timestamp"]) == (expected["score"], expected["timestamp"])
    assert [p for p, _ in subscriber.on("tfedge/cam1/status")] == ["online", "offline"]
    subscriber.close()

    late = Subscriber(broker.port, "tfedge/cam1", client_id="late-subscriber")
    wait_until(lambda: late.on("tfedge/cam1/status"), "the retained status")
    assert late.on("tfedge/cam1/status") == [("offline", True)]  # the status is retained
    assert late.labels("tfedge/cam1") == []  # label changes are not, unless --mqtt-retain
    late.close()


@needs_broker
def test_a_broker_restart_mid_run_loses_no_label_change(broker, tflite_models, fashion_dir, tmp_path):
    classifier = Classifier(tflite_models["float32"])
    video, starts = switching_video(classifier, fashion_dir / "test", tmp_path / "six.mp4",
                                    segments=6, frames_per_segment=12)
    subscriber = Subscriber(broker.port, "plant/line1")
    wait_until(lambda: subscriber.client.is_connected(), "the subscriber")
    logged = []
    sink = MqttSink(f"mqtt://127.0.0.1:{broker.port}/plant/line1", qos=1, flush_timeout_s=60,
                    log=logged.append)
    recorded = io.StringIO()
    pipeline = PipelineThread(classifier, video, gate_frames=[starts[2], starts[4]],
                              sinks=[sink, JsonLinesSink(recorded)], fps=100)
    pipeline.start()
    try:
        wait_until(lambda: pipeline.source.reached[starts[2]].is_set(), "two segments classified")
        wait_until(lambda: len(subscriber.labels("plant/line1")) >= 2, "the first label changes")
        broker.stop()
        wait_until(lambda: not sink.connected, "the sink to notice the broker is gone")
        pipeline.source.gates[starts[2]].set()  # classification goes on while the broker is away
        wait_until(lambda: pipeline.source.reached[starts[4]].is_set(), "two more segments classified")
        broker.start()
        wait_until(lambda: sink.connected, "the sink to reconnect")
        pipeline.source.gates[starts[4]].set()
    finally:
        summary = pipeline.finish()
    assert summary["frames"] == 72
    results = [json.loads(line) for line in recorded.getvalue().splitlines()[:-1]]
    changes = expected_changes(results)
    assert any(starts[2] <= change["frame"] < starts[4] for change in changes)  # while the broker was away
    wait_until(lambda: ("offline", False) in subscriber.on("plant/line1/status"), "the offline message")
    received = without_redeliveries(subscriber.labels("plant/line1"))
    assert same_changes(received, changes)
    assert sum("lost" in line for line in logged) == 1 and sum("reconnected" in line for line in logged) == 1
    subscriber.close()


@needs_broker
def test_the_last_will_marks_a_killed_device_offline(broker):
    subscriber = Subscriber(broker.port, "tfedge/pi")
    wait_until(lambda: subscriber.client.is_connected(), "the subscriber")
    device = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from tfedge.edge.sinks.mqtt import MqttSink\n"
         f"sink = MqttSink('mqtt://127.0.0.1:{broker.port}/tfedge/pi', log=print)\n"
         "sys.stdout.flush(); time.sleep(600)\n"],
        stdout=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: ("online", False) in subscriber.on("tfedge/pi/status"), "the online message")
        device.send_signal(signal.SIGKILL)  # no clean disconnect: only the broker can tell
        device.wait(30)
        wait_until(lambda: ("offline", False) in subscriber.on("tfedge/pi/status"), "the last will")
    finally:
        if device.poll() is None:
            device.kill()
        device.wait(30)
    subscriber.close()


@needs_broker
def test_heartbeat_qos2_retain_and_a_password(tmp_path):
    password_file = tmp_path / "passwords"
    subprocess.run([shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd", "-b", "-c",
                    str(password_file), "device", "p@ss:word"], check=True)
    server = Broker(tmp_path / "auth-broker",
                    f"allow_anonymous false\npassword_file {password_file}\n")
    try:
        subscriber = Subscriber(server.port, "home/door", auth=("device", "p@ss:word"))
        wait_until(lambda: subscriber.client.is_connected(), "the subscriber")
        sink = MqttSink(f"mqtt://device:p%40ss%3Aword@127.0.0.1:{server.port}/home/door", qos=2,
                        retain=True, heartbeat_s=0.2, log=lambda _: None,
                        info={"model": "door.tflite"})
        for result in as_pipeline_results([
                {"frame": frame, "timestamp": 5.0 + frame, "label": label, "score": 0.9, "fps": 12.5,
                 "inference_ms": 3.0, "stats": {"dropped_frames": 2}}
                for frame, label in enumerate(["closed", "closed", "open"])]):
            sink.emit(result)
        wait_until(lambda: len(subscriber.on("home/door/heartbeat")) >= 2, "two heartbeats")
        beat = json.loads(subscriber.on("home/door/heartbeat")[-1][0])
        assert beat["type"] == "heartbeat" and beat["frames"] == 3 and beat["label"] == "open"
        assert (beat["fps"], beat["dropped_frames"], beat["model"]) == (12.5, 2, "door.tflite")
        wait_until(lambda: len(subscriber.labels("home/door")) == 2, "the label changes")
        sink.close({"frames": 3})
        subscriber.close()

        late = Subscriber(server.port, "home/door", client_id="late", auth=("device", "p@ss:word"))
        wait_until(lambda: late.labels("home/door"), "the retained label")
        assert late.on("home/door/label") == [(json.dumps(
            {"type": "label_change", "label": "open", "previous": "closed", "score": 0.9,
             "timestamp": 7.0, "frame": 2}), True)]
        late.close()

        refused = []
        intruder = MqttSink(f"mqtt://device:wrong@127.0.0.1:{server.port}/home/door",
                            log=refused.append, flush_timeout_s=0.5)
        wait_until(lambda: refused, "the refusal")
        assert "refused" in refused[0] and "user and password" in refused[0]
        intruder.close({})
    finally:
        server.stop()


@pytest.mark.real_component("openssl")
@needs_broker
def test_tls_with_a_private_ca(tmp_path):
    certs = tmp_path / "certs"
    certs.mkdir()
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed (apt-get install openssl)")

    def run(*args):
        subprocess.run([openssl, *args], check=True, cwd=certs, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "1", "-subj", "/CN=tfedge test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=localhost")
    (certs / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "1", "-extfile", "san.ext")
    server = Broker(tmp_path / "tls-broker", f"allow_anonymous true\ncafile {certs}/ca.pem\n"
                    f"certfile {certs}/server.pem\nkeyfile {certs}/server.key\n")
    try:
        subscriber = Subscriber(server.port, "secure/cam", tls_ca=str(certs / "ca.pem"))
        wait_until(lambda: subscriber.client.is_connected(), "the TLS subscriber")
        # in a new process, after a plain connection there: that one imports paho-mqtt without
        # OpenSSL (tfedge.edge.no_openssl), so this one must bring its TLS back
        result = as_pipeline_results([{"frame": 0, "timestamp": 1.0, "label": "cat", "score": 0.7}])[0]
        device = subprocess.run(
            [sys.executable, "-c",
             "import json, sys, numpy, cv2\n"
             "from tfedge.edge.no_openssl import openssl_loaded\n"
             "loaded = set(openssl_loaded())\n"
             "from tfedge.edge.sinks.mqtt import MqttSink\n"
             f"plain = MqttSink('mqtt://127.0.0.1:{free_port()}/plain', log=lambda _: None, "
             "flush_timeout_s=0.1)\n"
             "before = sorted(set(openssl_loaded()) - loaded)\n"
             f"sink = MqttSink('mqtts://localhost:{server.port}/secure/cam', "
             f"cafile={str(certs / 'ca.pem')!r}, log=print)\n"
             "sink.emit(json.loads(sys.argv[1]))\n"
             "sink.close({}); plain.close({})\n"
             "print(json.dumps(before))\n", json.dumps(result)],
            capture_output=True, text=True, timeout=120)
        assert device.returncode == 0, device.stderr
        assert json.loads(device.stdout.splitlines()[-1]) == []  # plain MQTT: no OpenSSL
        wait_until(lambda: subscriber.labels("secure/cam"), "the label over TLS")
        assert subscriber.labels("secure/cam")[0]["label"] == "cat"
        subscriber.close()
    finally:
        server.stop()


@needs_broker
def test_a_plain_run_with_the_web_viewer_and_mqtt_loads_no_openssl(broker, tflite_models, labelled_video):
    """OpenSSL only for TLS (tfedge.edge.no_openssl): 4.5 MB of RSS a plain run does not need."""
    subscriber = Subscriber(broker.port, "plain/cam")
    wait_until(lambda: subscriber.client.is_connected(), "the subscriber")
    script = ("import json, sys, numpy, cv2\n"  # what they load themselves is theirs (test_digests)
              "from tfedge.edge.no_openssl import openssl_loaded\n"
              "before = set(openssl_loaded())\n"
              "from tfedge.main import main\n"
              "code = main(sys.argv[1:])\n"
              "print(json.dumps({'code': code, 'openssl': sorted(set(openssl_loaded()) - before)}))\n")
    run = subprocess.run(
        [sys.executable, "-c", script, "run", str(tflite_models["int8"]), "--source", str(labelled_video),
         "--headless", "--max-frames", "5", "--serve", str(free_port()),
         "--mqtt", f"mqtt://127.0.0.1:{broker.port}/plain/cam"],
        capture_output=True, text=True, timeout=120)
    assert json.loads(run.stdout.splitlines()[-1]) == {"code": 0, "openssl": []}, run.stderr
    wait_until(lambda: ("offline", False) in subscriber.on("plain/cam/status"), "the offline message")
    assert [p for p, _ in subscriber.on("plain/cam/status")] == ["online", "offline"]
    subscriber.close()


def test_a_full_queue_drops_the_message_and_says_so(free_port, monkeypatch):
    monkeypatch.setattr("tfedge.edge.sinks.mqtt.MAX_QUEUED_MESSAGES", 1)
    logged = []  # no broker: the first change waits in the queue, the next messages find it full
    sink = MqttSink(f"mqtt://127.0.0.1:{free_port}/cam", log=logged.append, flush_timeout_s=0.2)
    for result in as_pipeline_results([{"frame": 0, "timestamp": 1.0, "label": "cat", "score": 0.7},
                                       {"frame": 1, "timestamp": 2.0, "label": "dog", "score": 0.8}]):
        sink.emit(result)
    sink.close({})
    assert sum("queue full (1); dropped a message" in line for line in logged) == 2  # dog, offline
    assert any("1 message(s) not delivered" in line for line in logged)


def test_bad_urls_and_options_are_usage_errors(tmp_path, capsys, tflite_models, labelled_video):
    target = parse_mqtt_url("mqtts://me:s%2Fcret@broker.local/a/b/")
    assert (target.host, target.port, target.topic, target.tls) == ("broker.local", 8883, "a/b", True)
    assert (target.username, target.password) == ("me", "s/cret")
    assert parse_mqtt_url("mqtt://10.0.0.2:1884/x").port == 1884
    for bad in ["http://h/t", "mqtt://h", "mqtt://h/", "mqtt://h/a/#", "mqtt://h/+/x", "mqtt://:1883/t",
                "mqtt://h:99999/t", "mqtt:///t"]:
        with pytest.raises(UsageError):
            parse_mqtt_url(bad)
    with pytest.raises(UsageError, match="mqtt-qos"):
        MqttSink("mqtt://h/t", qos=3)
    with pytest.raises(UsageError, match="no such file"):
        MqttSink("mqtts://h/t", cafile=str(tmp_path / "missing.pem"))
    for options in (["--mqtt", "mqtt://h/t", "--mqtt-cafile", __file__], ["--mqtt", "tcp://h/t"]):
        code = main(["run", str(tflite_models["int8"]), "--source", str(labelled_video), "--headless",
                     *options])
        errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
        assert code == 2 and len(errors) == 1 and "mqtt" in errors[0]


def test_missing_paho_is_a_dependency_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "paho.mqtt.client", None)
    with pytest.raises(DependencyError, match=r"tfedge\[mqtt\]"):
        MqttSink("mqtt://127.0.0.1/t")
