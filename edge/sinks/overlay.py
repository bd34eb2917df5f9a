"""The overlay sink: the newest frame with label, score, FPS, inference time and top-k bars.

`emit` only swaps in the newest (result, frame); the sink's thread hands it to the window (see
tfedge.edge.sinks.window: a child process of its own) when the window has shown the one before,
so the interpreter never waits for the screen and frames the window had no time for are skipped
(the window shows the present, not a backlog). Drawing happens in the window process, off the
inference process's CPU time and GIL.
"""

from __future__ import annotations

import sys
import threading
import time

import cv2

from tfedge.edge.sinks import shown_label

BANNER_BGR = (120, 60, 20)  # dark blue: the label banner (tests look for this colour)
CHANGED_BGR = (0, 140, 255)  # orange: the banner for CHANGE_SECONDS after the stable label changes
CHANGE_SECONDS = 1.5
# At most 30 shown frames a second: every frame of a 30 FPS camera or video (the usual, and the
# Pi camera's default), half of a 60 FPS one; a faster run (a video file as fast as the model goes)
# shows its newest frame 30 times a second. Each shown frame costs the window process, the run
# (one copy) and the X server CPU the classifier would use (README "tfedge run").
MAX_WINDOW_FPS = 30.0


def draw_overlay(frame, result: dict, show_top_k: bool = False, changed: bool = False):
    """Draw the result onto a copy of the frame and return it (the web view's; see draw_overlay_in_place)."""
    return draw_overlay_in_place(frame.copy(), result, show_top_k, changed)


def draw_overlay_in_place(canvas, result: dict, show_top_k: bool = False, changed: bool = False):
    """Draw the result onto `canvas` itself and return it (the window draws on its own copy).

    A banner on top holds the label, score, FPS and inference time; it turns orange while
    `changed` (just after the stable label changed). `show_top_k` adds one bar per top-k pair.
    """
    width = canvas.shape[1]
    scale = max(0.5, width / 960)
    line = int(30 * scale)
    label, score = shown_label(result)
    texts = [f"{label} {score:.2f}" if label is not None else "...",
             f"{result.get('fps', 0):.1f} FPS  {result['inference_ms']:.1f} ms"]
    cv2.rectangle(canvas, (0, 0), (width, line * 2 + 12), CHANGED_BGR if changed else BANNER_BGR, -1)
    for row, text in enumerate(texts):
        cv2.putText(canvas, text, (10, line * (row + 1)), cv2.FONT_HERSHEY_SIMPLEX, 0.9 * scale,
                    (255, 255, 255), max(2, int(2 * scale)), cv2.LINE_AA)
    if show_top_k:
        top = line * 2 + 20
        for row, (name, value) in enumerate(result.get("top_k", [])):
            y = top + row * line
            cv2.rectangle(canvas, (10, y), (10 + int((width // 2) * value), y + line - 6), (60, 180, 60), -1)
            cv2.rectangle(canvas, (10, y), (10 + width // 2, y + line - 6), (255, 255, 255), 1)
            cv2.putText(canvas, f"{name} {value:.2f}", (width // 2 + 20, y + line - 10),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.7 * scale, (255, 255, 255), max(2, int(2 * scale)),
                        cv2.LINE_AA)
    return canvas


class OverlaySink:
    """Shows frames in a window; q, Esc or the close button ask the run to stop.

    `window` is anything with `show(result, frame, changed_at) -> still there?`, `poll() -> still
    there?`, `close()` and a `quit` flag (tests may pass a fake). When the window goes away on its
    own (the display died), the run goes on with `fallback` (a sink: JSON lines) and says so once.
    """

    def __init__(self, window, fallback_factory=None, log=None, max_fps: float = MAX_WINDOW_FPS) -> None:
        self.window = window
        self._interval = 1.0 / max_fps
        self.stop_requested = False
        self.shown = 0
        self._fallback_factory = fallback_factory
        self._fallback = None
        self._log = log or (lambda message: print(message, file=sys.stderr, flush=True))
        self._newest = None
        self._changed_at = 0.0
        self._closing = False
        self._condition = threading.Condition()
        self._thread = threading.Thread(target=self._draw, name="tfedge-overlay", daemon=True)
        self._thread.start()

    def emit(self, result: dict, frame=None) -> None:
        fallback = self._fallback
        if fallback is not None:
            fallback.emit(result, frame)
            return
        if (result.get("event") or {}).get("type") == "label_change":
            self._changed_at = time.time()
        if frame is None:
            return
        with self._condition:
            self._newest = (result, frame)
            self._condition.notify()

    def facts(self) -> dict:
        cpu = {name: getattr(self.window, name, None) for name in ("cpu_s", "start_cpu_s")}
        return {"window_frames": self.shown} | {f"window_{name}": value for name, value in cpu.items()
                                                if value is not None}

    def close(self, summary: dict) -> None:
        with self._condition:
            self._closing = True
            self._condition.notify()
        self._thread.join(timeout=5.0)
        if self._fallback is not None:
            self._fallback.close(summary)

    def _lost(self) -> None:
        self._log("tfedge run: the display went away; running headless (JSON lines) from here on")
        if self._fallback_factory is not None:
            self._fallback = self._fallback_factory()

    def _draw(self) -> None:
        shown_at = 0.0
        try:
            while True:
                time.sleep(max(0.0, shown_at + self._interval - time.monotonic()))
                with self._condition:
                    if self._newest is None and not self._closing:
                        self._condition.wait(timeout=0.1)
                    if self._newest is None and self._closing:  # the last frame was shown
                        return
                    item, self._newest = self._newest, None
                if item:
                    shown_at = time.monotonic()
                there = self.window.show(*item, self._changed_at) if item else self.window.poll()
                if not there:
                    self._lost()
                    return
                self.shown += item is not None
                if self.window.quit:
                    self.stop_requested = True
        finally:
            self.window.close()
