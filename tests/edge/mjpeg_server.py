"""A real MJPEG-over-HTTP server on 127.0.0.1 (multipart/x-mixed-replace, like IP cameras serve).

`frames_per_connection` ends each stream after that many frames (a stream drop);
`refuse_after_drop` answers that many following requests with 503 (the camera is away).
"""

from __future__ import annotations

import http.server
import socketserver
import threading
import time

import cv2
import numpy as np


def jpeg_frames(count: int = 16, size=(96, 128)) -> list[bytes]:
    frames = []
    for i in range(count):
        image = np.zeros((*size, 3), np.uint8)
        image[:, : (i + 1) * size[1] // count] = (40 + 10 * i, 200, 90)
        frames.append(cv2.imencode(".jpg", image)[1].tobytes())
    return frames


class MjpegServer:
    def __init__(self, frames_per_connection: int | None = None, refuse_after_drop: int = 0,
                 fps: float = 60.0, port: int = 0) -> None:
        self.frames = jpeg_frames()
        self.frames_per_connection = frames_per_connection
        self.refuse_after_drop = refuse_after_drop
        self.interval = 1.0 / fps
        self.connections = 0
        self.refused = 0
        self.open_streams = 0
        self._to_refuse = 0
        self._lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                with server._lock:
                    if server._to_refuse > 0:
                        server._to_refuse -= 1
                        server.refused += 1
                        refuse = True
                    else:
                        server.connections += 1
                        server.open_streams += 1
                        refuse = False
                if refuse:
                    self.send_error(503, "camera away")
                    return
                try:
                    self._stream()
                finally:
                    with server._lock:
                        server.open_streams -= 1

            def _stream(self):
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                sent = 0
                try:
                    while server.frames_per_connection is None or sent < server.frames_per_connection:
                        frame = server.frames[sent % len(server.frames)]
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d"
                                         b"\r\n\r\n" % len(frame) + frame + b"\r\n")
                        sent += 1
                        time.sleep(server.interval)
                except (BrokenPipeError, ConnectionResetError):
                    return
                with server._lock:
                    server._to_refuse = server.refuse_after_drop

            def log_message(self, *args):
                pass

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.httpd = socketserver.ThreadingTCPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/stream.mjpg"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> MjpegServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
