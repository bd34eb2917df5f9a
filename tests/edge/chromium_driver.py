"""A real headless Chromium driven over the DevTools protocol (websocket-client), for the web
page tests (the live view, the review page)."""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import urllib.request
from pathlib import Path

import cv2
import numpy as np
from sink_helpers import wait_until

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


class Chromium:
    """A headless Chromium with a fresh profile, one tab, spoken to over the DevTools protocol."""

    def __init__(self, profile: Path) -> None:
        import websocket  # websocket-client, from the dev extra

        self.process = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", "--remote-debugging-port=0",
             "--window-size=1024,768", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        port = wait_until(lambda: port_file.exists() and port_file.read_text().split("\n")[0],
                          "Chromium's DevTools port")
        pages = wait_until(lambda: self._pages(port), "a Chromium tab")
        self.socket = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=60,
                                                  suppress_origin=True)
        self.ids = itertools.count(1)

    @staticmethod
    def _pages(port):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            return [p for p in json.load(answer) if p.get("type") == "page"]

    def call(self, method: str, **params) -> dict:
        call_id = next(self.ids)
        self.socket.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def evaluate(self, expression: str):
        answer = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return answer["result"].get("value")

    def screenshot(self, path: Path) -> np.ndarray:
        data = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)

    def close(self) -> None:
        self.socket.close()
        self.process.terminate()
        self.process.wait(30)

    # key -> (DevTools code, Windows virtual key code, text typed) for the keys the pages use
    SPECIAL_KEYS = {"Enter": ("Enter", 13, "\r"), " ": ("Space", 32, " "),
                    "Backspace": ("Backspace", 8, ""), "Escape": ("Escape", 27, "")}

    def click(self, selector: str) -> None:
        """A real mouse click (press and release) in the middle of the element `selector` finds."""
        x, y = self.evaluate(f"(() => {{ const r = document.querySelector({selector!r})"
                             ".getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def press(self, key: str) -> None:
        """Press and release one key as a real keyboard does (keydown, char, keyup)."""
        special = self.SPECIAL_KEYS.get(key)
        code, virtual, text = special if special else ("", ord(key.upper()), key)
        fields = {"key": key, "code": code, "windowsVirtualKeyCode": virtual}
        self.call("Input.dispatchKeyEvent", type="keyDown" if text else "rawKeyDown", text=text, **fields)
        self.call("Input.dispatchKeyEvent", type="keyUp", **fields)
