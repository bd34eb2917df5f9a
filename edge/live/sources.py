"""Frame sources behind one interface.

Every source has `live` (True for cameras and streams: frames keep coming and old ones are worth
nothing), `open()` (raises SourceError; called again to reconnect), `read() -> (ok, frame)`
(a BGR uint8 frame; ok False at the end of a file or when a live source stops), `release()` and
`describe()` (what was asked for and what the device actually gives).

A source spec on the command line is a camera index ("0"), "picamera2" (or "picamera2:1" for a
second CSI camera), a video file, an RTSP/HTTP URL, or a folder of images.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import cv2
import numpy as np

from tfedge.edge.labelled import image_files
from tfedge.edge.preprocess import IMAGE_SUFFIXES, decode_image
from tfedge.errors import DependencyError, SourceError

PICAMERA_PREFIX = "picamera2"


@dataclass(frozen=True)
class CameraRequest:
    """Width, height and frame rate asked of a camera (None: the camera's default)."""

    width: int | None = None
    height: int | None = None
    fps: float | None = None

    def __post_init__(self) -> None:
        for name in ("width", "height", "fps"):
            value = getattr(self, name)
            if value is not None and not 0 < value <= 10000:
                raise ValueError(f"--{name} {value} is out of range; use a positive camera setting")

    def as_dict(self) -> dict:
        return {"width": self.width, "height": self.height, "fps": self.fps}


def _capture_facts(capture) -> dict:
    return {
        "width": int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
        "height": int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        "fps": round(float(capture.get(cv2.CAP_PROP_FPS)), 2),
    }


class _OpenCVSource:
    """Shared code of the sources read through OpenCV's VideoCapture."""

    live = True
    kind = "video"

    def __init__(self, spec) -> None:
        self.spec = spec
        self.capture = None

    def _open_capture(self):
        return cv2.VideoCapture(self.spec)

    def open(self) -> None:
        self.release()
        capture = self._open_capture()
        if not capture.isOpened():
            capture.release()
            raise SourceError(self._cannot_open())
        self.capture = capture

    def _cannot_open(self) -> str:
        return f"cannot open {self.kind} {self.spec!r}"

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.capture is None:
            return False, None
        ok, frame = self.capture.read()
        return (True, frame) if ok and frame is not None else (False, None)

    def release(self) -> None:
        if self.capture is not None:
            self.capture.release()
            self.capture = None

    def describe(self) -> dict:
        facts = _capture_facts(self.capture) if self.capture is not None else {}
        return {"kind": self.kind, "source": str(self.spec), "live": self.live, **facts}


class CameraSource(_OpenCVSource):
    """A camera by index (V4L2 on Linux), with the width, height and fps asked of it.

    `capture_factory(index, api)` makes the VideoCapture; tests pass a fake one.
    """

    kind = "camera"

    def __init__(self, index: int, request: CameraRequest | None = None, capture_factory=None) -> None:
        super().__init__(index)
        self.request = request or CameraRequest()
        self.capture_factory = capture_factory or cv2.VideoCapture

    def _open_capture(self):
        api = cv2.CAP_V4L2 if platform.system() == "Linux" else cv2.CAP_ANY
        capture = self.capture_factory(self.spec, api)
        if capture.isOpened():
            if self.request.width:
                capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.request.width)
            if self.request.height:
                capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.request.height)
            if self.request.fps:
                capture.set(cv2.CAP_PROP_FPS, self.request.fps)
            capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # keep the driver's queue short: fresh frames
        return capture

    def _cannot_open(self) -> str:
        return (f"cannot open camera {self.spec}; check that it is plugged in (ls /dev/video*) and "
                "not used by another program, or pass --wait-for-source")

    def describe(self) -> dict:
        return {**super().describe(), "requested": self.request.as_dict()}


class VideoFileSource(_OpenCVSource):
    """A video file: every frame in order; the end of the file ends the run."""

    live = False

    def __init__(self, path: str | Path) -> None:
        super().__init__(str(path))

    def open(self) -> None:
        if not Path(self.spec).exists():
            raise SourceError(f"{self.spec}: no such video file or folder; check the path")
        super().open()

    def _cannot_open(self) -> str:
        return f"cannot open video {self.spec!r}; the file must be a video OpenCV can decode"

    def describe(self) -> dict:
        facts = super().describe()
        if self.capture is not None:
            facts["frames"] = int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT))
        return facts


class StreamSource(_OpenCVSource):
    """An RTSP or HTTP(S) stream (MJPEG, H.264, ...) read through OpenCV's FFmpeg backend."""

    kind = "stream"
    timeout_ms = 5000  # a server that stops answering counts as a dropped stream after this

    def _open_capture(self):
        return cv2.VideoCapture(self.spec, cv2.CAP_FFMPEG, [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, self.timeout_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, self.timeout_ms])

    def _cannot_open(self) -> str:
        return (f"cannot open stream {self.spec}; check the URL and that the server is up, "
                "or pass --wait-for-source")


class FolderSource:
    """Every image in a folder (sorted, recursively, dotfiles left out), one frame each."""

    live = False

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.paths: list[Path] = []
        self.position = 0
        self.current_path: Path | None = None

    def open(self) -> None:
        self.paths = image_files(self.folder)
        if not self.paths:
            raise SourceError(f"{self.folder}: no images found (looked for {', '.join(IMAGE_SUFFIXES)})")
        self.position = 0

    def read(self) -> tuple[bool, np.ndarray | None]:
        while self.position < len(self.paths):
            path = self.paths[self.position]
            self.position += 1
            try:
                frame = decode_image(path)
            except ValueError:
                continue
            self.current_path = path
            return True, frame
        return False, None

    def release(self) -> None:
        self.position = len(self.paths)

    def describe(self) -> dict:
        return {"kind": "folder", "source": str(self.folder), "live": False, "images": len(self.paths)}


class PiCameraSource:
    """The Raspberry Pi CSI camera through picamera2 (libcamera), imported only when opened.

    picamera2's "RGB888" format stores pixels in B, G, R byte order: OpenCV's BGR, no conversion.
    """

    live = True

    def __init__(self, camera_num: int = 0, request: CameraRequest | None = None) -> None:
        self.camera_num = camera_num
        self.request = request or CameraRequest()
        self.camera = None

    def open(self) -> None:
        self.release()
        try:
            from picamera2 import Picamera2  # only here: it exists on Raspberry Pi OS alone
        except ImportError:
            raise DependencyError(
                "picamera2 is not importable; on Raspberry Pi OS run 'sudo apt install "
                "python3-picamera2' and make the venv with --system-site-packages"
            ) from None
        try:
            camera = Picamera2(self.camera_num)
            size = (self.request.width or 640, self.request.height or 480)
            controls = {"FrameRate": float(self.request.fps)} if self.request.fps else {}
            camera.configure(camera.create_video_configuration(
                main={"size": size, "format": "RGB888"}, controls=controls))
            camera.start()
        except (RuntimeError, IndexError, OSError, ValueError) as error:
            raise SourceError(f"cannot open CSI camera {self.camera_num} through picamera2 ({error}); "
                              "check the ribbon cable and 'rpicam-hello --list-cameras'") from None
        self.camera = camera

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.camera is None:
            return False, None
        try:
            frame = self.camera.capture_array("main")
        except (RuntimeError, OSError):
            return False, None
        if frame is None:
            return False, None
        return True, frame[:, :, :3] if frame.ndim == 3 and frame.shape[2] == 4 else frame

    def release(self) -> None:
        if self.camera is not None:
            try:
                self.camera.stop()
            finally:
                self.camera.close()
                self.camera = None

    def describe(self) -> dict:
        facts = {"kind": "picamera2", "source": f"{PICAMERA_PREFIX}:{self.camera_num}", "live": True,
                 "requested": self.request.as_dict()}
        if self.camera is not None:
            width, height = self.camera.camera_configuration()["main"]["size"]
            facts.update(width=int(width), height=int(height))
            duration_us = self.camera.capture_metadata().get("FrameDuration")
            if duration_us:
                facts["fps"] = round(1e6 / duration_us, 2)
        return facts


class SourceKind(Enum):
    """What a command-line source spec names (`source_kind` tells, `make_source` builds it)."""

    CAMERA = "camera"  # a camera index: "0"
    PICAMERA = "picamera2"  # "picamera2" or "picamera2:N"
    STREAM = "stream"  # an RTSP or HTTP(S) URL
    FOLDER = "folder"  # a folder of images
    VIDEO = "video"  # anything else: a video file

    @property
    def is_path(self) -> bool:
        """True when the spec is a file-system path (relative to the working directory)."""
        return self in (SourceKind.FOLDER, SourceKind.VIDEO)


def source_kind(spec: str | int) -> SourceKind:
    """The kind of source a command-line spec names; opens nothing."""
    text = str(spec)
    if text.isdigit():
        return SourceKind.CAMERA
    if text == PICAMERA_PREFIX or text.startswith(PICAMERA_PREFIX + ":"):
        return SourceKind.PICAMERA
    if "://" in text:
        return SourceKind.STREAM
    if Path(text).is_dir():
        return SourceKind.FOLDER
    return SourceKind.VIDEO


def make_source(spec: str | int, request: CameraRequest | None = None):
    """The source for a command-line spec, not yet opened (call `open()`)."""
    text, kind = str(spec), source_kind(spec)
    if kind is SourceKind.CAMERA:
        return CameraSource(int(text), request)
    if kind is SourceKind.PICAMERA:
        number = text.partition(":")[2] or "0"
        if not number.isdigit():
            raise SourceError(f"{text}: give the CSI camera as picamera2 or picamera2:N")
        return PiCameraSource(int(number), request)
    if kind is SourceKind.STREAM:
        return StreamSource(text)
    if kind is SourceKind.FOLDER:
        return FolderSource(text)
    return VideoFileSource(text)
