"""A window showing the newest frame with label, score, FPS and inference time drawn on it.

Drawing and the window live in the sink's own thread: `emit` only swaps in the newest
(result, frame), so the interpreter never waits for the screen. Frames the window had no time
for are skipped (the window shows the present, not a backlog).
"""

from __future__ import annotations

import os
import platform
import threading

import cv2

from tfedge.edge.sinks import shown_label


def draw_overlay(frame, result: dict):
    """Draw the result onto a copy of the frame and return it."""
    canvas = frame.copy()
    label, score = shown_label(result)
    lines = [
        f"{label} {score:.2f}",
        f"{result.get('fps', 0):.1f} FPS  {result['inference_ms']:.1f} ms",
    ]
    scale = max(0.4, canvas.shape[1] / 640)
    for row, text in enumerate(lines):
        y = int((row + 1) * 28 * scale)
        cv2.putText(canvas, text, (8, y), cv2.FONT_HERSHEY_SIMPLEX, 0.8 * scale, (0, 0, 0), 4,
                    cv2.LINE_AA)
        cv2.putText(canvas, text, (8, y), cv2.FONT_HERSHEY_SIMPLEX, 0.8 * scale, (255, 255, 255), 2,
                    cv2.LINE_AA)
    return canvas


def display_available() -> bool:
    """True when OpenCV can open a window (a GUI build of OpenCV and a display)."""
    if platform.system() == "Linux" and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False  # GTK/Qt would abort the process rather than raise without a display
    try:
        cv2.namedWindow("tfedge-probe", cv2.WINDOW_AUTOSIZE)
        cv2.destroyWindow("tfedge-probe")
        return True
    except cv2.error:
        return False


class OpenCVWindow:
    """The real screen: cv2.imshow + waitKey; `show` returns True when the user asks to quit."""

    name = "tfedge"

    def show(self, image) -> bool:
        cv2.imshow(self.name, image)
        return (cv2.waitKey(1) & 0xFF) in (ord("q"), 27)

    def close(self) -> None:
        cv2.destroyAllWindows()


class OverlaySink:
    """Shows frames in a window; q or Esc asks the run to stop.

    `window` is anything with `show(image) -> quit?` and `close()` (tests pass a fake display).
    """

    def __init__(self, window=None) -> None:
        self.window = window or OpenCVWindow()
        self.stop_requested = False
        self.shown = 0
        self._newest = None
        self._closing = False
        self._condition = threading.Condition()
        self._thread = threading.Thread(target=self._draw, name="tfedge-overlay", daemon=True)
        self._thread.start()

    def emit(self, result: dict, frame=None) -> None:
        if frame is None:
            return
        with self._condition:
            self._newest = (result, frame)
            self._condition.notify()

    def close(self, summary: dict) -> None:
        with self._condition:
            self._closing = True
            self._condition.notify()
        self._thread.join(timeout=2.0)

    def _draw(self) -> None:
        try:
            while True:
                with self._condition:
                    while self._newest is None and not self._closing:
                        self._condition.wait()
                    if self._newest is None:  # closing, and the last frame was shown
                        return
                    result, frame = self._newest
                    self._newest = None
                if self.window.show(draw_overlay(frame, result)):
                    self.stop_requested = True
                self.shown += 1
        finally:
            self.window.close()
