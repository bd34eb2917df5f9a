"""Label changes and a heartbeat as JSON over MQTT, for home-automation and factory systems.

Topics under the URL's topic T:
- `T/status`: "online" (retained, on every connect) and "offline" (the last will, and on a
  clean exit), so subscribers see at once whether the device is up.
- `T/label`: one JSON message per stable label change (`type`, `label`, `previous`, `score`,
  `timestamp`, `frame`); retained with `retain=True`.
- `T/heartbeat`: every `heartbeat_s` seconds while connected: uptime, frames, FPS, current label.

paho-mqtt runs the network in its own thread and reconnects with backoff (1 s doubling to 30 s)
when the broker goes away; classification never waits for it. Label changes made while
disconnected are queued and delivered in order after the reconnect; with QoS 1 or 2 (QoS 1 is
the default) a change is kept until the broker has acknowledged it, so none is lost.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tfedge.edge.no_openssl import paho_client
from tfedge.edge.sinks import shown_label
from tfedge.errors import DependencyError, UsageError

MAX_QUEUED_MESSAGES = 10000  # bounds memory when the broker stays away for very long
_HEARTBEAT = object()
_STOP = object()


@dataclass(frozen=True)
class MqttTarget:
    """Where to publish, from `mqtt[s]://[user:pass@]host[:port]/topic`."""

    host: str
    port: int
    topic: str
    tls: bool = False
    username: str | None = None
    password: str | None = None


def parse_mqtt_url(url: str) -> MqttTarget:
    usage = f"--mqtt {url!r} must look like mqtt://[user:pass@]host[:port]/topic (or mqtts:// for TLS)"
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise UsageError(usage)
    try:
        port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
    except ValueError:
        raise UsageError(usage) from None
    topic = parts.path.strip("/")
    if not topic or "+" in topic or "#" in url or parts.query:
        raise UsageError(usage + "; the topic must be set and must not contain + or #")
    return MqttTarget(parts.hostname, port, topic, parts.scheme == "mqtts",
                      unquote(parts.username) if parts.username else None,
                      unquote(parts.password) if parts.password else None)


class MqttSink:
    """Publishes label changes and heartbeats; `emit` only puts them on a queue.

    Args:
        url: `mqtt[s]://[user:pass@]host[:port]/topic`.
        qos: 0, 1 or 2 for every message.
        retain: retain label-change messages (the status message is always retained).
        cafile: CA certificate file that signed the broker's certificate (mqtts only; default:
            the system's CAs).
        heartbeat_s: seconds between heartbeats.
        flush_timeout_s: how long `close` waits for the broker to acknowledge what is queued.
    """

    needs_frames = False

    def __init__(self, url: str, qos: int = 1, retain: bool = False, cafile: str | None = None,
                 heartbeat_s: float = 30.0, flush_timeout_s: float = 5.0, client_id: str | None = None,
                 info: dict | None = None, log=None) -> None:
        self.target = parse_mqtt_url(url)
        if qos not in (0, 1, 2):
            raise UsageError(f"--mqtt-qos {qos} is not an MQTT QoS; use 0, 1 or 2")
        if not heartbeat_s > 0:
            raise UsageError(f"--mqtt-heartbeat {heartbeat_s} must be a positive number of seconds")
        if cafile and not self.target.tls:
            raise UsageError("--mqtt-cafile needs a TLS connection; use an mqtts:// URL")
        if cafile and not Path(cafile).is_file():
            raise UsageError(f"--mqtt-cafile {cafile}: no such file; give the CA certificate (PEM)")
        try:  # imported here: only runs that publish over MQTT need paho-mqtt
            paho = paho_client(self.target.tls)
        except ImportError:
            raise DependencyError("--mqtt needs paho-mqtt; install it with "
                                  "pip install 'tfedge[mqtt]'") from None
        self._queue_full = paho.MQTTErrorCode.MQTT_ERR_QUEUE_SIZE
        self.qos, self.retain, self.heartbeat_s = qos, retain, heartbeat_s
        self.flush_timeout_s = flush_timeout_s
        self.log = log or (lambda message: print(message, file=sys.stderr))
        self.info = dict(info or {})
        self.started = time.time()
        self.frames = 0
        self.latest: dict = {}
        self.connected = False
        self.ever_connected = False
        self._told_unreachable = False
        self._closing = False
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._sent = 0
        self._acknowledged = 0
        self._delivery = threading.Condition()
        topic = self.target.topic
        self.status_topic, self.label_topic = f"{topic}/status", f"{topic}/label"
        self.heartbeat_topic = f"{topic}/heartbeat"

        client_id = client_id or f"tfedge-{socket.gethostname()}-{os.getpid()}"
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.max_queued_messages_set(MAX_QUEUED_MESSAGES)
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        if self.target.username:
            self.client.username_pw_set(self.target.username, self.target.password)
        if self.target.tls:
            self.client.tls_set(ca_certs=cafile)
        self.client.will_set(self.status_topic, "offline", qos=qos, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.client.on_connect_fail = self._on_connect_fail
        self.client.connect_async(self.target.host, self.target.port, keepalive=30)
        self.client.loop_start()
        self._thread = threading.Thread(target=self._publish_loop, name="tfedge-mqtt", daemon=True)
        self._thread.start()

    @property
    def where(self) -> str:
        scheme = "mqtts" if self.target.tls else "mqtt"
        return f"{scheme}://{self.target.host}:{self.target.port}/{self.target.topic}"

    def start(self, info: dict) -> None:
        self.info.update(info)

    def emit(self, result: dict, frame=None) -> None:
        self.frames += 1
        self.latest = result
        if result.get("event"):
            self._queue.put({**result["event"], "frame": result["frame"]})

    def close(self, summary: dict) -> None:
        """Publish what is queued and "offline", wait for the broker's acknowledgements, disconnect."""
        self._queue.put(_STOP)
        self._thread.join()
        self._closing = True
        self._publish(self.status_topic, "offline", retain=True)
        deadline = time.monotonic() + self.flush_timeout_s
        with self._delivery:
            while self._acknowledged < self._sent and time.monotonic() < deadline:
                self._delivery.wait(max(0.0, deadline - time.monotonic()))
            missing = self._sent - self._acknowledged
        if missing > 0:
            self.log(f"tfedge run: MQTT: {missing} message(s) not delivered to {self.where} "
                     f"within {self.flush_timeout_s:g} s")
        self.client.disconnect()
        self.client.loop_stop()

    def _publish(self, topic: str, payload: str, retain: bool) -> None:
        with self._delivery:
            self._sent += 1
        info = self.client.publish(topic, payload, qos=self.qos, retain=retain)
        if info.rc == self._queue_full:  # the broker has been away for very long
            with self._delivery:
                self._sent -= 1
            self.log(f"tfedge run: MQTT: queue full ({MAX_QUEUED_MESSAGES}); dropped a message")

    def _publish_loop(self) -> None:
        next_beat = time.monotonic() + self.heartbeat_s
        while True:
            try:
                item = self._queue.get(timeout=max(0.0, next_beat - time.monotonic()))
            except queue.Empty:
                item = _HEARTBEAT
            if item is _STOP:
                return
            if item is _HEARTBEAT:
                next_beat = time.monotonic() + self.heartbeat_s
                if self.connected:  # a heartbeat is only news while it is fresh
                    self._publish(self.heartbeat_topic, json.dumps(self.heartbeat()), retain=False)
            else:
                self._publish(self.label_topic, json.dumps(item), retain=self.retain)

    def heartbeat(self) -> dict:
        result = self.latest
        label, score = shown_label(result)
        stats = result.get("stats") or {}
        return {"type": "heartbeat", "timestamp": round(time.time(), 3),
                "uptime_s": round(time.time() - self.started, 1), "frames": self.frames,
                "fps": result.get("fps"), "label": label, "score": score,
                "dropped_frames": stats.get("dropped_frames", result.get("dropped_frames")),
                "model": self.info.get("model"),
                "model_sha": result.get("model") or (self.info.get("model_sha256") or "")[:12] or None}

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            if self.connected or not self.ever_connected:
                self.log(f"tfedge run: MQTT: {self.where} refused the connection ({reason_code}); "
                         "check the user and password in --mqtt; retrying")
            self.connected = False
            return
        self.log(f"tfedge run: MQTT: {'re' if self.ever_connected else ''}connected to {self.where}")
        self.connected = self.ever_connected = True
        self._told_unreachable = False
        self._publish(self.status_topic, "online", retain=True)

    def _on_connect_fail(self, client, userdata) -> None:
        if not self._told_unreachable:  # once per outage, not once per retry
            self._told_unreachable = True
            self.log(f"tfedge run: MQTT: cannot reach {self.where}; retrying with backoff, "
                     "label changes are queued meanwhile")

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if self.connected and not self._closing:
            self._told_unreachable = True
            self.log(f"tfedge run: MQTT: lost {self.where} ({reason_code}); reconnecting with "
                     "backoff, label changes are queued meanwhile")
        self.connected = False

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._delivery:
            self._acknowledged += 1
            self._delivery.notify_all()
