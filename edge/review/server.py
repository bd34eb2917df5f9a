"""The review page's server: standard library only, the live view's address and token rules.

- `GET /` (the page and its two assets, from a fixed whitelist), `GET /api/state`,
  `GET /frames/<id>.jpg` and `/frames/<id>.view.jpg` (only ids of the review's frames).
- `POST /api/decide` (`{"id", "action": "label"|"skip"|"none", "label"}`) and `POST /api/undo`;
  each answers `{"state": ...}`, or `{"error": ..., "state": ...}` with 4xx/5xx.
- Loopback by default; another address needs a token or `insecure=True` (the live view's
  `check_exposure`); the token is checked on every request, loopback Host names only without one
  (`tfedge.edge.sinks.web`). POSTs must be JSON from this page's own origin, so another web page
  in the same browser cannot decide for the reviewer.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from tfedge.edge.collection import frame_path, view_path
from tfedge.edge.review.session import ReviewSession
from tfedge.edge.sinks.web import GuardedHandler, check_exposure
from tfedge.errors import OutputError

ASSETS = {
    "/": ("page.html", "text/html; charset=utf-8"),
    "/index.html": ("page.html", "text/html; charset=utf-8"),
    "/review.js": ("page.js", "text/javascript; charset=utf-8"),
    "/review.css": ("page.css", "text/css; charset=utf-8"),
}
FRAME_URL = re.compile(r"/frames/([^/]+?)(\.view)?\.jpg")
MAX_BODY = 4096
IMMUTABLE = {"Cache-Control": "private, max-age=86400"}  # a collected frame never changes


class _ReviewHandler(GuardedHandler):
    """The live view's handler (token, Host check, headers) with the review's routes."""

    server: _ReviewServer

    def _guarded(self, head: bool) -> bool:
        if not self._authorized(urlsplit(self.path).query):
            self._send(HTTPStatus.UNAUTHORIZED, b'{"error": "token required"}\n', "application/json",
                       head, {"WWW-Authenticate": "Bearer"})
            return False
        if not self._host_allowed():
            self._send(HTTPStatus.FORBIDDEN, b'{"error": "unknown Host"}\n', "application/json", head)
            return False
        return True

    def _respond(self, head: bool) -> None:
        if not self._guarded(head):
            return
        path, session = urlsplit(self.path).path, self.server.session
        frame = FRAME_URL.fullmatch(path)
        if path in self.server.assets:
            body, kind = self.server.assets[path]
            self._send(HTTPStatus.OK, body, kind, head)
        elif path == "/api/state":
            self._send_json({"state": session.snapshot()}, head)
        elif frame and frame.group(1) in session.state.by_id:
            file = (view_path if frame.group(2) else frame_path)(session.folder, frame.group(1))
            try:
                self._send(HTTPStatus.OK, file.read_bytes(), "image/jpeg", head, IMMUTABLE)
            except OSError:
                self._error(HTTPStatus.NOT_FOUND, f"{file.name} is gone from the collect folder", head)
        else:
            self._error(HTTPStatus.NOT_FOUND, "not found", head)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        if not self._guarded(head=False):
            return
        path, session = urlsplit(self.path).path, self.server.session
        refusal = self._post_refusal()
        if refusal:
            self._error(HTTPStatus.FORBIDDEN if "origin" in refusal else HTTPStatus.BAD_REQUEST, refusal)
            return
        try:
            body = json.loads(self.rfile.read(_content_length(self.headers)) or b"{}")
            if not isinstance(body, dict):
                raise ValueError("the request body is not a JSON object")
            if path == "/api/decide":
                state = session.decide(str(body.get("id")), body.get("action"), body.get("label"))
            elif path == "/api/undo":
                state = session.undo()
            else:
                self._error(HTTPStatus.NOT_FOUND, "not found")
                return
        except ValueError as error:
            self._error(HTTPStatus.CONFLICT, str(error))
            return
        except FileNotFoundError as error:
            self._error(HTTPStatus.GONE, f"{Path(error.filename or '?').name} is gone from the collect "
                        "folder (did the collector prune it?); skip this frame")
            return
        except OSError as error:
            self._error(HTTPStatus.INSUFFICIENT_STORAGE,
                        f"could not save the decision ({error.strerror or error}); it was not made")
            self.server.log(f"tfedge review: could not save a decision: {error}")
            return
        self._send_json({"state": state}, head=False)

    def _post_refusal(self) -> str | None:
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            return "decisions are sent as application/json"
        if not 0 <= _content_length(self.headers) <= MAX_BODY:
            return "request body too large"
        origin = self.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc != self.headers.get("Host"):
            return "a request from another origin cannot decide"
        return None

    def _error(self, status: HTTPStatus, message: str, head: bool = False) -> None:
        body = {"error": message}
        if status != HTTPStatus.NOT_FOUND:
            body["state"] = self.server.session.snapshot()
        self._send(status, (json.dumps(body) + "\n").encode(), "application/json", head)


def _content_length(headers) -> int:
    text = headers.get("Content-Length") or "0"
    return int(text) if text.isdigit() else -1


class _ReviewServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, host: str, port: int, session: ReviewSession, token: str | None, log) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.host = host
        self.session = session
        self.token = token
        self.log = log
        folder = resources.files("tfedge.edge.review")
        self.assets = {path: (folder.joinpath(name).read_bytes(), kind)
                       for path, (name, kind) in ASSETS.items()}
        super().__init__((host, port), _ReviewHandler)


class ReviewServer:
    """Serves one review session in a background thread until `close()`.

    Args:
        session: the review.
        host, port: where to listen (port 0 picks a free one; see `port`).
        token: required on every request when set; needed to bind beyond loopback.
        insecure: allow a non-loopback address without a token.
        log: where one-line messages go.
    """

    def __init__(self, session: ReviewSession, host: str = "127.0.0.1", port: int = 8081,
                 token: str | None = None, insecure: bool = False, log=print) -> None:
        check_exposure(host, token, insecure)
        try:
            self.server = _ReviewServer(host, port, session, token, log)
        except OSError as error:
            raise OutputError(f"cannot serve on {host}:{port} ({error.strerror or error}); "
                              "choose another --serve address or port") from None
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="tfedge-review", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
