"""What the baseline loops share: read a video's frames, and time them the way those loops
time themselves (first to last classified frame). OpenCV and the standard library only, so the
MediaPipe venv can import it too."""

from __future__ import annotations

import time
from collections.abc import Iterator

import cv2


class FrameClock:
    """Frames of `video`, in order; `tick()` after each is classified, `result()` at the end."""

    def __init__(self, video: str) -> None:
        self.capture = cv2.VideoCapture(video)
        self.file_fps = self.capture.get(cv2.CAP_PROP_FPS) or 30.0
        self.frames, self.first, self.last = 0, 0.0, 0.0

    def __iter__(self) -> Iterator:
        while self.capture.isOpened():
            ok, frame = self.capture.read()
            if not ok:
                break
            yield frame
        self.capture.release()

    def tick(self) -> None:
        self.last = time.perf_counter()
        self.first = self.first or self.last
        self.frames += 1

    def result(self) -> dict:
        return {"fps": round((self.frames - 1) / (self.last - self.first), 2), "frames": self.frames}
