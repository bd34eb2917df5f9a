"""Frame sources behind one interface.

Every source has `live` (True for cameras and streams: frames keep coming and old ones are worth
nothing), `open()` (raises SourceError; called again to reconnect), `read() -> (ok, frame)`
(a BGR uint8 frame; ok False at the end of a file or when a live source stops), `release()` and
`describe()` (what was asked for and what the device actually gives).

A source spec on the command line is a camera index ("0"), "picamera2" (or "picamera2:1" for a
second CSI camera), a video file, an RTSP/HTTP URL, or a folder of images.
"""

from __future__ import annotations

import math
import platform
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import cv2
import numpy as np

from tfedge.edge.labelled import image_files
from tfedge.edge.live.v4l2_modes import camera_modes, smallest_mode
from tfedge.edge.preprocess import IMAGE_SUFFIXES, ModelView, decode_image
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

    def __init__(self, spec, decode_threads: int | None = None) -> None:
        self.spec = spec
        self.capture = None
        self.decode_threads = decode_threads  # FFmpeg's (tfedge.edge.threads.decode_threads)

    def _capture_params(self) -> list[int]:
        """VideoCapture open parameters: the decoding threads, where this OpenCV has the property."""
        prop = getattr(cv2, "CAP_PROP_N_THREADS", None)
        return [prop, self.decode_threads] if prop is not None and self.decode_threads else []

    def _open_capture(self):
        params = self._capture_params()
        if params:
            capture = cv2.VideoCapture(self.spec, cv2.CAP_ANY, params)
            if capture.isOpened():
                return capture
            capture.release()  # a backend without the property refuses it: open as it likes
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

    def grab(self) -> bool:
        """Take the next frame from the device or file without converting it (`retrieve` does)."""
        return self.capture is not None and bool(self.capture.grab())

    def retrieve(self) -> tuple[bool, np.ndarray | None]:
        """The frame last grabbed, as BGR: the colour conversion (an MJPEG camera's JPEG decode)."""
        ok, frame = self.capture.retrieve()
        return (True, frame) if ok and frame is not None else (False, None)

    def release(self) -> None:
        if self.capture is not None:
            self.capture.release()
            self.capture = None

    def describe(self) -> dict:
        facts = _capture_facts(self.capture) if self.capture is not None else {}
        params = self._capture_params()
        if self.capture is not None and params:
            facts["decode_threads"] = int(self.capture.get(params[0]))  # as the backend took it
        return {"kind": self.kind, "source": str(self.spec), "live": self.live, **facts}


class CameraSource(_OpenCVSource):
    """A camera by index (V4L2 on Linux), with the width, height and fps asked of it.

    Without --width/--height and given `at_least` (the model's input, width and height), it asks
    for the smallest mode the camera lists (`mode_lister`, VIDIOC_ENUM_FRAMESIZES) at least that
    large on both sides, and goes back to the default mode when the camera does not take it.
    `capture_factory(index, api)` makes the VideoCapture and `mode_lister(index, at_least, like)`
    lists modes; tests pass stand-ins for both.
    """

    kind = "camera"

    def __init__(self, index: int, request: CameraRequest | None = None, capture_factory=None,
                 at_least: tuple[int, int] | None = None, mode_lister=camera_modes) -> None:
        super().__init__(index)
        self.request = request or CameraRequest()
        self.capture_factory = capture_factory or cv2.VideoCapture
        self.at_least = at_least
        self.mode_lister = mode_lister
        self.chosen_mode: tuple[int, int] | None = None

    def _set_size(self, capture, width: int, height: int) -> tuple[int, int]:
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        return int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))

    def _choose_mode(self, capture) -> None:
        """Ask for the smallest listed mode >= the model's input; keep it only if the camera took it."""
        default = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        mode = smallest_mode(self.mode_lister(self.spec, self.at_least, default), self.at_least, default)
        default_fits = default[0] >= self.at_least[0] and default[1] >= self.at_least[1]
        if mode is None or mode == default or (default_fits and mode[0] * mode[1] >= default[0] * default[1]):
            return
        got = self._set_size(capture, *mode)
        if got[0] >= self.at_least[0] and got[1] >= self.at_least[1]:
            self.chosen_mode = got
        else:
            self._set_size(capture, *default)

    def _open_capture(self):
        api = cv2.CAP_V4L2 if platform.system() == "Linux" else cv2.CAP_ANY
        capture = self.capture_factory(self.spec, api)
        self.chosen_mode = None
        if capture.isOpened():
            if self.request.width:
                capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.request.width)
            if self.request.height:
                capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.request.height)
            if not (self.request.width or self.request.height) and self.at_least:
                self._choose_mode(capture)
            if self.request.fps:
                capture.set(cv2.CAP_PROP_FPS, self.request.fps)
            capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # keep the driver's queue short: fresh frames
        return capture

    def _cannot_open(self) -> str:
        return (f"cannot open camera {self.spec}; check that it is plugged in (ls /dev/video*) and "
                "not used by another program, or pass --wait-for-source")

    def describe(self) -> dict:
        facts = {**super().describe(), "requested": self.request.as_dict()}
        if self.chosen_mode:
            facts["mode"] = "smallest at least the model's input"
        return facts


class VideoFileSource(_OpenCVSource):
    """A video file: every frame in order; the end of the file ends the run."""

    live = False

    def __init__(self, path: str | Path, decode_threads: int | None = None) -> None:
        super().__init__(str(path), decode_threads)

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
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, self.timeout_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, self.timeout_ms,
            *self._capture_params()])

    def _cannot_open(self) -> str:
        return (f"cannot open stream {self.spec}; check the URL and that the server is up, "
                "or pass --wait-for-source")


class FolderSource:
    """Every image in a folder (sorted, recursively, dotfiles left out), one frame each.

    Given `at_least` (the model's input), JPEGs at least twice as large are decoded at 1/2, 1/4
    or 1/8 of their size, as training, calibration and `tfedge verify` decode them."""

    live = False

    def __init__(self, folder: str | Path, at_least: tuple[int, int] | None = None) -> None:
        self.folder = Path(folder)
        self.at_least = at_least  # the model's input: large JPEGs are decoded reduced (decode_image)
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
                frame = decode_image(path, self.at_least)
            except ValueError:
                continue
            self.current_path = path
            return True, frame
        return False, None

    def release(self) -> None:
        self.position = len(self.paths)

    def describe(self) -> dict:
        return {"kind": "folder", "source": str(self.folder), "live": False, "images": len(self.paths)}


LORES_WIDTH_STEP = 64  # a YUV420 row of this many pixels needs no padding (picamera2's alignment)


def lores_size(main: tuple[int, int], at_least: tuple[int, int]) -> tuple[int, int] | None:
    """The smallest lores (width, height) with the main stream's aspect ratio that is at least
    `at_least` on both sides, its width a multiple of LORES_WIDTH_STEP and its height even;
    None when it would not be smaller than the main stream."""
    aspect = main[0] / main[1]
    height = max(at_least[1], math.ceil(at_least[0] / aspect))
    width = math.ceil(max(at_least[0], height * aspect) / LORES_WIDTH_STEP) * LORES_WIDTH_STEP
    height += height % 2
    if width >= main[0] or height >= main[1]:
        return None
    return width, height


class PiCameraSource:
    """The Raspberry Pi CSI camera through picamera2 (libcamera), imported only when opened.

    picamera2's "RGB888" format stores pixels in B, G, R byte order: OpenCV's BGR, no conversion.
    Given `at_least` (the model's input), a second "lores" stream, scaled by the Pi's ISP to the
    smallest size at least that large (`lores_size`, YUV420: the format Pi 4 and Pi 5 both
    offer), comes with every main frame as its `model_view` (`tfedge.edge.preprocess.ModelView`):
    the classifier reads that, the window and web view show the main stream. Like the OpenCV
    sources it grabs (`grab`) and converts (`retrieve`: the lores stream's YUV420 to BGR) apart, so
    a frame the live capture drops is never converted. Tested through a stand-in for picamera2
    only; untested on a Pi.
    """

    live = True

    def __init__(self, camera_num: int = 0, request: CameraRequest | None = None,
                 at_least: tuple[int, int] | None = None) -> None:
        self.camera_num = camera_num
        self.request = request or CameraRequest()
        self.at_least = at_least
        self.lores: tuple[int, int] | None = None
        self.camera = None
        self._grabbed: tuple[np.ndarray, np.ndarray | None] | None = None  # (main, lores YUV) last grabbed

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
            self.lores = lores_size(size, self.at_least) if self.at_least else None
            streams = {"lores": {"size": self.lores, "format": "YUV420"}} if self.lores else {}
            camera.configure(camera.create_video_configuration(
                main={"size": size, "format": "RGB888"}, controls=controls, **streams))
            camera.start()
        except (RuntimeError, IndexError, OSError, ValueError) as error:
            raise SourceError(f"cannot open CSI camera {self.camera_num} through picamera2 ({error}); "
                              "check the ribbon cable and 'rpicam-hello --list-cameras'") from None
        self.camera = camera

    def read(self) -> tuple[bool, np.ndarray | None]:
        return self.retrieve() if self.grab() else (False, None)

    def grab(self) -> bool:
        """Take the next frame of both streams, the lores one left in YUV420 (`retrieve` converts)."""
        self._grabbed = None
        if self.camera is None:
            return False
        try:
            if self.lores:
                (frame, small), _ = self.camera.capture_arrays(["main", "lores"])  # one moment, both sizes
            else:
                frame, small = self.camera.capture_array("main"), None
        except (RuntimeError, OSError):
            return False
        if frame is None:
            return False
        self._grabbed = (frame[:, :, :3] if frame.ndim == 3 and frame.shape[2] == 4 else frame, small)
        return True

    def retrieve(self) -> tuple[bool, np.ndarray | None]:
        """The frame last grabbed, as BGR, with the lores stream converted to BGR as its model view."""
        if self._grabbed is None:
            return False, None
        frame, small = self._grabbed
        if small is None:
            return True, frame
        return True, ModelView.of(frame, cv2.cvtColor(small, cv2.COLOR_YUV2BGR_I420))

    def release(self) -> None:
        self._grabbed = None
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
            configuration = self.camera.camera_configuration()
            width, height = configuration["main"]["size"]
            facts.update(width=int(width), height=int(height))
            if self.lores and configuration.get("lores"):
                lores_width, lores_height = configuration["lores"]["size"]
                facts["model_stream"] = f"lores {lores_width}x{lores_height}"
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


def make_source(spec: str | int, request: CameraRequest | None = None,
                at_least: tuple[int, int] | None = None, decode_threads: int | None = None):
    """The source for a command-line spec, not yet opened (call `open()`).

    `at_least`: the model's input (width, height); cameras then ask for their smallest mode that
    large, picamera2 adds a lores stream that size, folders decode large JPEGs reduced.
    `decode_threads`: FFmpeg's threads for video files and streams (None: FFmpeg's choice)."""
    text, kind = str(spec), source_kind(spec)
    if kind is SourceKind.CAMERA:
        return CameraSource(int(text), request, at_least=at_least)
    if kind is SourceKind.PICAMERA:
        number = text.partition(":")[2] or "0"
        if not number.isdigit():
            raise SourceError(f"{text}: give the CSI camera as picamera2 or picamera2:N")
        return PiCameraSource(int(number), request, at_least)
    if kind is SourceKind.STREAM:
        return StreamSource(text, decode_threads)
    if kind is SourceKind.FOLDER:
        return FolderSource(text, at_least)
    return VideoFileSource(text, decode_threads)
