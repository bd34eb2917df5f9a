"""A window showing each frame with label, score, FPS and inference time drawn on it."""

from __future__ import annotations

import cv2


def draw_overlay(frame, result: dict):
    """Draw the result onto a copy of the frame and return it."""
    canvas = frame.copy()
    lines = [
        f"{result['label']} {result['score']:.2f}",
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
    """True when OpenCV can open a window (a GUI build and a display)."""
    try:
        cv2.namedWindow("tfedge-probe", cv2.WINDOW_AUTOSIZE)
        cv2.destroyWindow("tfedge-probe")
        return True
    except cv2.error:
        return False


class OverlaySink:
    """Shows frames in a window; closing it (q or Esc) asks the pipeline to stop."""

    window = "tfedge"
    wants_frames = True

    def __init__(self) -> None:
        self.stop_requested = False

    def emit(self, result: dict, frame=None) -> None:
        if frame is None:
            return
        cv2.imshow(self.window, draw_overlay(frame, result))
        if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
            self.stop_requested = True

    def close(self, summary: dict) -> None:
        cv2.destroyAllWindows()
