"""A live web view: one small page with the MJPEG video, the current label and the last events.

Standard library only (http.server), so it runs on the device without a web framework.

- `GET /` (the page and its two assets, served from a fixed whitelist, never the filesystem),
  `GET /stream.mjpg` (the video with the label drawn on it), `GET /frame.jpg` (one frame),
  `GET /api/status`, `GET /api/events`; with --collect, `GET /collected/<id>.jpg` (the model's
  view of one of the latest kept frames; their ids and count are in /api/status's "collected").
- Bound to 127.0.0.1 unless told otherwise; another address needs a token or an explicit
  `insecure=True`. The token is checked on every request (header or `?token=`).
- Frames are JPEG-encoded only while someone watches, at most `max_fps` per second, once per
  frame however many viewers: one encoder thread publishes the latest JPEG and each viewer's
  thread sends whatever is newest when its socket is ready, so a slow viewer skips frames
  instead of slowing inference or other viewers.
"""

from __future__ import annotations

import collections
import ipaddress
import json
import select
import socket
import sys
import threading
import time
from http import HTTPStatus
from importlib import resources
from urllib.parse import parse_qs, urlsplit

import cv2

from tfedge.edge.no_openssl import equal_secrets, openssl_hidden
from tfedge.edge.sinks import shown_label
from tfedge.edge.sinks.overlay import draw_overlay
from tfedge.errors import OutputError, UsageError

with openssl_hidden():  # plain HTTP: http.client's optional TLS stays out (tfedge.edge.no_openssl)
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_HOST = "127.0.0.1"
BOUNDARY = "tfedgeframe"
# URL path -> (file beside this module, content type): the only files the server can send.
ASSETS = {
    "/": ("web_page.html", "text/html; charset=utf-8"),
    "/index.html": ("web_page.html", "text/html; charset=utf-8"),
    "/app.js": ("web_page.js", "text/javascript; charset=utf-8"),
    "/app.css": ("web_page.css", "text/css; charset=utf-8"),
}
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
}
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def parse_serve_address(text: str) -> tuple[str, int]:
    """`PORT`, `HOST:PORT` or `[IPv6]:PORT` as (host, port); the host defaults to 127.0.0.1."""
    host, port_text = DEFAULT_HOST, str(text).strip()
    if port_text.startswith("["):
        host, _, rest = port_text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif ":" in port_text:
        host, _, port_text = port_text.rpartition(":")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535 or not host:
        raise UsageError(f"--serve {text!r} is not [HOST:]PORT; use for example 8080 or 0.0.0.0:8080")
    return host, int(port_text)


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, token: str | None, insecure: bool) -> None:
    """Refuse to serve the camera beyond this machine without a token or an explicit --insecure."""
    if token is not None and not token.strip():
        raise UsageError("--token is empty; give a secret string (or set TFEDGE_TOKEN)")
    if not is_loopback(host) and not token and not insecure:
        raise UsageError(f"--serve {host} lets other machines watch the camera; add --token TOKEN "
                         "(or --insecure to allow anyone on the network)")


class JpegPublisher:
    """The latest frame as JPEG, encoded by one thread only while at least one viewer waits."""

    def __init__(self, max_fps: float = 15.0, quality: int = 80) -> None:
        self.interval = 1.0 / max_fps
        self.quality = quality
        self.viewers = 0
        self.encoded = 0
        self.sequence = 0
        self.jpeg: bytes | None = None
        self.closed = False
        self._wanted = False
        self._pending = None
        self._lock = threading.Lock()
        self._frame_ready = threading.Condition(self._lock)
        self._jpeg_ready = threading.Condition(self._lock)
        self._thread = threading.Thread(target=self._encode_loop, name="tfedge-web-jpeg", daemon=True)
        self._thread.start()

    @property
    def waiting_for_frame(self) -> bool:
        """True while the encoder waits for the next frame (viewers present, rate cap allows)."""
        return self._wanted

    def offer(self, frame, result: dict) -> None:
        """Called for every frame by the result stage; copies it only when the encoder wants one."""
        if not self._wanted or frame is None:
            return
        with self._lock:
            if self._wanted:
                self._pending = (frame.copy(), result)
                self._wanted = False
                self._frame_ready.notify()

    def add_viewer(self) -> None:
        with self._lock:
            self.viewers += 1
            self._frame_ready.notify()

    def remove_viewer(self) -> None:
        with self._lock:
            self.viewers -= 1
            self._frame_ready.notify()

    def next_jpeg(self, seen: int, timeout: float = 1.0) -> tuple[int, bytes | None]:
        """The newest JPEG newer than sequence `seen` (waits up to `timeout`); None once closed."""
        with self._lock:
            self._jpeg_ready.wait_for(lambda: self.closed or self.sequence != seen, timeout)
            if self.closed:
                return seen, None
            return self.sequence, (self.jpeg if self.sequence != seen else None)

    def close(self) -> None:
        with self._lock:
            self.closed = True
            self._frame_ready.notify_all()
            self._jpeg_ready.notify_all()
        self._thread.join(timeout=5)

    def _encode_loop(self) -> None:
        last = 0.0
        while True:
            with self._lock:
                while not self.closed and self.viewers <= 0:
                    self._frame_ready.wait()
                if self.closed:
                    return
            pause = last + self.interval - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            with self._lock:
                self._wanted = True
                while not self.closed and self._pending is None and self.viewers > 0:
                    self._frame_ready.wait()
                self._wanted = False
                taken, self._pending = self._pending, None
                if self.closed:
                    return
            if taken is None:
                continue
            last = time.monotonic()
            frame, result = taken
            try:
                frame = draw_overlay(frame, result)
            except (KeyError, TypeError, ValueError, cv2.error):  # a result without a label: plain video
                pass
            ok, buffer = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
            if not ok:
                continue
            with self._lock:
                self.jpeg = buffer.tobytes()
                self.sequence += 1
                self.encoded += 1
                self._jpeg_ready.notify_all()


class LiveState:
    """What the page shows: run info, the latest result, recent label changes, the end summary."""

    def __init__(self, info: dict | None = None, max_events: int = 50) -> None:
        self.info = dict(info or {})
        self.started = time.time()
        self.frames = 0
        self.latest: dict = {}
        self.summary: dict | None = None
        self.events: collections.deque = collections.deque(maxlen=max_events)

    def update(self, result: dict) -> None:
        self.frames += 1
        self.latest = result
        if result.get("event"):
            self.events.append(result["event"])

    def status(self) -> dict:
        result, stats = self.latest, self.latest.get("stats") or {}
        label, score = shown_label(result)
        summary = self.summary or {}

        def counter(key):
            return summary.get(key, stats.get(key, result.get(key)))

        return {
            "model": self.info.get("model"),
            "model_sha": result.get("model") or (self.info.get("model_sha256") or "")[:12] or None,
            "backend": self.info.get("backend"),
            "source": self.info.get("source"),
            "running": self.summary is None,
            "label": label,
            "score": score,
            "frame_label": result.get("label"),
            "fps": result.get("fps"),
            "inference_ms": result.get("inference_ms"),
            "uptime_s": round(time.time() - self.started, 1),
            "frames": self.frames,
            "dropped_frames": counter("dropped_frames"),
            "reconnects": counter("reconnects"),
            "timestamp": result.get("timestamp"),
        }


def _load_assets() -> dict[str, tuple[bytes, str]]:
    folder = resources.files("tfedge.edge.sinks")
    return {path: (folder.joinpath(name).read_bytes(), kind) for path, (name, kind) in ASSETS.items()}


class GuardedHandler(BaseHTTPRequestHandler):
    """The live view's request handler: Host check, token and headers (`tfedge review` extends it)."""

    server_version = "tfedge"
    sys_version = ""
    server: _WebServer

    def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's name
        pass  # a request log per poll would flood a headless device's journal

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._respond(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._respond(head=True)

    def _respond(self, head: bool) -> None:
        url = urlsplit(self.path)
        if not self._authorized(url.query):
            self._send(HTTPStatus.UNAUTHORIZED, b'{"error": "token required"}\n', "application/json",
                       head, {"WWW-Authenticate": "Bearer"})
            return
        if not self._host_allowed():
            self._send(HTTPStatus.FORBIDDEN, b'{"error": "unknown Host"}\n', "application/json", head)
            return
        web = self.server.sink
        if url.path in web.assets:
            body, kind = web.assets[url.path]
            self._send(HTTPStatus.OK, body, kind, head)
        elif url.path == "/api/status":
            collected = {"collected": web.collection.status()} if web.collection is not None else {}
            self._send_json({**web.state.status(), "viewers": web.publisher.viewers, **collected}, head)
        elif url.path == "/api/events":
            self._send_json({"events": list(web.state.events)[::-1]}, head)
        elif url.path.startswith("/collected/") and url.path.endswith(".jpg"):
            self._send_collected(url.path[len("/collected/"):-len(".jpg")], head)
        elif url.path == "/frame.jpg":
            self._send_one_frame(head)
        elif url.path == "/stream.mjpg":
            self._stream(head)
        else:
            self._send(HTTPStatus.NOT_FOUND, b'{"error": "not found"}\n', "application/json", head)

    def _authorized(self, query: str) -> bool:
        token = self.server.token
        if not token:
            return True
        given = self.headers.get("X-Tfedge-Token") or ""
        bearer = self.headers.get("Authorization") or ""
        if bearer.lower().startswith("bearer "):
            given = given or bearer[7:].strip()
        given = given or (parse_qs(query).get("token") or [""])[0]
        return equal_secrets(given, token)

    def _host_allowed(self) -> bool:
        """On loopback without a token, only loopback Host names: stops DNS-rebinding pages."""
        if self.server.token or not is_loopback(self.server.host):
            return True
        host = self.headers.get("Host")
        if host is None:
            return True
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return name.strip("[]").lower() in LOOPBACK_NAMES

    def _send(self, status, body: bytes, kind: str, head: bool, extra: dict | None = None) -> None:
        self.send_response(status)
        for name, value in {**SECURITY_HEADERS, **(extra or {}), "Content-Type": kind,
                            "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _send_json(self, data: dict, head: bool) -> None:
        self._send(HTTPStatus.OK, (json.dumps(data, default=str) + "\n").encode(), "application/json", head)

    def _send_collected(self, frame_id: str, head: bool) -> None:
        collection = self.server.sink.collection
        jpeg = collection.thumbnail(frame_id) if collection is not None else None
        if jpeg is None:
            self._send(HTTPStatus.NOT_FOUND, b'{"error": "not found"}\n', "application/json", head)
        else:
            self._send(HTTPStatus.OK, jpeg, "image/jpeg", head)

    def _send_one_frame(self, head: bool) -> None:
        publisher = self.server.sink.publisher
        publisher.add_viewer()
        try:
            seen, jpeg = publisher.next_jpeg(publisher.sequence, timeout=5.0)
        finally:
            publisher.remove_viewer()
        if jpeg is None:
            self._send(HTTPStatus.SERVICE_UNAVAILABLE, b'{"error": "no frame yet"}\n',
                       "application/json", head)
        else:
            self._send(HTTPStatus.OK, jpeg, "image/jpeg", head)

    def _stream(self, head: bool) -> None:
        self.send_response(HTTPStatus.OK)
        for name, value in {**SECURITY_HEADERS, "Connection": "close",
                            "Content-Type": f"multipart/x-mixed-replace; boundary={BOUNDARY}"}.items():
            self.send_header(name, value)
        self.end_headers()
        if head:
            return
        publisher = self.server.sink.publisher
        # a viewer that takes this long to accept one frame has gone away
        self.connection.settimeout(self.server.sink.send_timeout)
        publisher.add_viewer()
        try:
            seen = 0
            while True:
                seen, jpeg = publisher.next_jpeg(seen)
                if publisher.closed or (jpeg is None and _peer_closed(self.connection)):
                    break
                if jpeg is not None:
                    self.wfile.write(b"--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
                                     % (BOUNDARY.encode(), len(jpeg)) + jpeg + b"\r\n")
        except OSError:  # the viewer left or stalled
            pass
        finally:
            publisher.remove_viewer()
            self.close_connection = True


def _peer_closed(connection: socket.socket) -> bool:
    """True when a viewer has hung up (noticed between frames, so a paused video frees it too)."""
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


class _WebServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, host: str, port: int, sink: WebSink, token: str | None) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.host = host
        self.sink = sink
        self.token = token
        super().__init__((host, port), GuardedHandler)


class WebSink:
    """Serves the live view while the pipeline runs.

    Args:
        host, port: where to listen (port 0 picks a free one; see `url`).
        token: required on every request when set; needed to bind beyond loopback.
        insecure: allow a non-loopback address without a token.
        max_fps: cap on JPEG encoding (frames per second, all viewers together).
        info: model, backend and source shown on the page until the pipeline's `start(info)`.
        collection: the --collect sink (its `status()` and `thumbnail(id)`), shown on the page.
    """

    def __init__(self, host: str = DEFAULT_HOST, port: int = 8080, token: str | None = None,
                 insecure: bool = False, max_fps: float = 15.0, quality: int = 80,
                 info: dict | None = None, send_timeout: float = 10.0, log=None,
                 collection=None) -> None:
        check_exposure(host, token, insecure)
        if not 0 < max_fps <= 120:
            raise UsageError(f"--serve-fps {max_fps} is out of range; use 1 to 120")
        self.log = log or (lambda message: print(message, file=sys.stderr))
        self.assets = _load_assets()
        self.state = LiveState(info)
        self.collection = collection
        self.send_timeout = send_timeout
        try:
            self.server = _WebServer(host, port, self, token)
        except OSError as error:
            raise OutputError(f"cannot serve on {host}:{port} ({error.strerror or error}); "
                              "choose another --serve address or port") from None
        self.publisher = JpegPublisher(max_fps=max_fps, quality=quality)
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="tfedge-web", daemon=True)
        self._thread.start()
        shown = f"[{host}]" if ":" in host else host
        self.log(f"tfedge run: live view at http://{shown}:{self.port}/"
                 + (" (add ?token=YOUR_TOKEN)" if token else ""))

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def needs_frames(self) -> bool:
        """Pictures are wanted only while someone watches (see tfedge.edge.sinks)."""
        return self.publisher.viewers > 0

    def start(self, info: dict) -> None:
        self.state.info.update(info)

    def emit(self, result: dict, frame=None) -> None:
        self.state.update(result)
        self.publisher.offer(frame, result)

    def close(self, summary: dict) -> None:
        self.state.summary = summary
        self.publisher.close()
        self.server.shutdown()
        self.server.server_close()
