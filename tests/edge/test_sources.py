"""Sources: real video files, folders and HTTP streams; cameras and picamera2 through fakes."""

import sys
import threading
import types

import cv2
import numpy as np
import pytest
from mjpeg_server import MjpegServer

from tfedge.edge.live.capture import END, Backoff, Capture, open_with_retry
from tfedge.edge.live.sources import (
    CameraRequest,
    CameraSource,
    FolderSource,
    PiCameraSource,
    SourceKind,
    StreamSource,
    VideoFileSource,
    make_source,
    source_kind,
)
from tfedge.errors import DependencyError, SourceError


class FakeVideoCapture:
    """Stands in for cv2.VideoCapture on a camera device (no camera exists here).

    Like a real driver, it grants a width/height/fps of its own choosing: the nearest mode it
    has. `frames` frames are delivered, then read() fails (the camera was unplugged).
    """

    MODES = [(640, 480, 30.0), (1280, 720, 15.0)]

    def __init__(self, index, api=None, frames=5, opens=True):
        self.index, self.api, self.frames, self.opens = index, api, frames, opens
        self.props = {cv2.CAP_PROP_FRAME_WIDTH: 640, cv2.CAP_PROP_FRAME_HEIGHT: 480, cv2.CAP_PROP_FPS: 30.0}
        self.released = False
        self.reads = 0

    def isOpened(self):  # noqa: N802 - OpenCV's name
        return self.opens and not self.released

    def set(self, prop, value):
        if prop == cv2.CAP_PROP_FRAME_WIDTH:
            width, height, fps = min(self.MODES, key=lambda mode: abs(mode[0] - value))
            self.props.update({cv2.CAP_PROP_FRAME_WIDTH: width, cv2.CAP_PROP_FRAME_HEIGHT: height,
                               cv2.CAP_PROP_FPS: fps})
        elif prop == cv2.CAP_PROP_FPS:
            self.props[prop] = min(value, self.props[prop])
        return True

    def get(self, prop):
        return self.props.get(prop, 0.0)

    def grab(self):
        if self.released or self.reads >= self.frames:
            return False
        self.reads += 1
        return True

    def retrieve(self):
        width, height = int(self.props[cv2.CAP_PROP_FRAME_WIDTH]), int(self.props[cv2.CAP_PROP_FRAME_HEIGHT])
        return True, np.full((height, width, 3), self.reads, np.uint8)

    def read(self):  # as OpenCV's: grab, then retrieve
        return self.retrieve() if self.grab() else (False, None)

    def release(self):
        self.released = True


def test_camera_reports_what_was_asked_and_what_the_device_gave():
    made = []

    def factory(index, api):
        made.append(FakeVideoCapture(index, api))
        return made[-1]

    source = CameraSource(2, CameraRequest(width=1200, height=700, fps=30), capture_factory=factory)
    source.open()
    facts = source.describe()
    assert made[0].index == 2 and made[0].api == cv2.CAP_V4L2
    assert facts["requested"] == {"width": 1200, "height": 700, "fps": 30}
    assert (facts["width"], facts["height"], facts["fps"]) == (1280, 720, 15.0)
    ok, frame = source.read()
    assert ok and frame.shape == (720, 1280, 3)
    source.release()
    assert made[0].released


def test_camera_that_does_not_open_says_what_to_check():
    source = CameraSource(0, capture_factory=lambda index, api: FakeVideoCapture(index, api, opens=False))
    with pytest.raises(SourceError, match=r"cannot open camera 0.*--wait-for-source"):
        source.open()


def test_unplugged_camera_is_reopened_with_backoff_and_logged_once():
    plugged = {"attempts": 0}

    def factory(index, api):
        plugged["attempts"] += 1
        # first open works, then two failed opens (unplugged), then it is back
        return FakeVideoCapture(index, api, frames=3, opens=plugged["attempts"] not in (2, 3))

    source = CameraSource(0, capture_factory=factory)
    source.open()
    messages = []
    capture = Capture(source, backoff=Backoff(first=0.001, maximum=0.002), log=messages.append).start()
    seen = 0
    while capture.reconnects < 2:
        item = capture.get(timeout=1.0)
        seen += item is not None and item is not END
    capture.stop()
    # the thread may start a third reconnect before stop(): judge the log up to the second return
    second_back = [i for i, m in enumerate(messages) if "back after" in m][1]
    assert len([m for m in messages[:second_back] if "reconnecting" in m]) == 2
    back = [m for m in messages if "back after" in m]
    assert back[0].endswith("after 3 attempts") and back[1].endswith("after 1 attempt")
    assert seen >= 1


def test_live_source_keeps_only_the_latest_frame_and_counts_the_dropped_ones():
    all_read = threading.Event()
    resume = threading.Event()

    class GatedFakeCapture(FakeVideoCapture):
        def grab(self):
            if self.reads == self.frames:
                all_read.set()
                resume.wait(5)
            return super().grab()

    source = CameraSource(0, capture_factory=lambda i, api: GatedFakeCapture(i, api, frames=10))
    source.open()
    capture = Capture(source, backoff=Backoff(first=10)).start()
    assert all_read.wait(5)
    item = capture.get(timeout=1.0)
    assert item.index == 9 and item.image[0, 0, 0] == 10
    assert capture.dropped_frames == 9
    resume.set()
    capture.stop()


def test_live_frames_are_converted_only_when_the_classifier_will_take_them(tmp_path):
    """A real video read as a live source (100 FPS) by a classifier that takes 30 ms a frame: the
    frames it could not take are grabbed (decoded) but never converted to BGR."""
    path = tmp_path / "fast.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 100.0, (64, 48))
    for index in range(60):
        writer.write(np.full((48, 64, 3), (index * 4) % 256, np.uint8))
    writer.release()
    reference = []
    plain = cv2.VideoCapture(str(path))
    while (frame := plain.read()[1]) is not None:
        reference.append(frame)

    class CountingVideoFileSource(VideoFileSource):  # the real file source, its conversions counted
        grabs = retrieves = 0

        def grab(self):
            self.grabs += 1
            return super().grab()

        def retrieve(self):
            self.retrieves += 1
            return super().retrieve()

    source = CountingVideoFileSource(path)
    source.open()
    capture = Capture(source, realtime=True).start()
    taken = []
    while (item := capture.get(timeout=1.0)) is not END:
        if item is not None:
            taken.append(item)
            threading.Event().wait(0.03)  # the classifier's invoke()
    capture.stop()
    assert len(reference) == 60 and source.grabs >= 60
    assert 5 <= len(taken) <= 30 and len(taken) + capture.dropped_frames == 60
    assert all(np.array_equal(item.image, reference[item.index]) for item in taken)
    assert [item.index for item in taken] == sorted({item.index for item in taken})
    assert source.retrieves <= len(taken) + 5  # a frame converted but not taken is a misjudgement


def test_file_source_delivers_every_frame_then_ends(labelled_video):
    source = VideoFileSource(labelled_video)
    source.open()
    expected = source.describe()["frames"]
    capture = Capture(source, prepare=lambda frame: frame[:2, :2].copy()).start()
    items = []
    while (item := capture.get(timeout=1.0)) is not END:
        if item is not None:
            items.append(item)
    capture.stop()
    assert [item.index for item in items] == list(range(expected))
    assert items[0].tensor.shape == (2, 2, 3)
    assert capture.dropped_frames == 0


def test_folder_source_skips_undecodable_files(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((4, 4, 3), np.uint8))
    (tmp_path / "b.png").write_bytes(b"not a png")
    cv2.imwrite(str(tmp_path / "c.jpg"), np.zeros((4, 4, 3), np.uint8))
    source = make_source(str(tmp_path))
    assert isinstance(source, FolderSource)
    source.open()
    assert [source.read()[0] for _ in range(3)] == [True, True, False]


@pytest.mark.parametrize("decode_threads", [None, 1])
def test_http_mjpeg_stream_is_read_through_ffmpeg(decode_threads):
    with MjpegServer(frames_per_connection=8) as server:
        source = make_source(server.url, decode_threads=decode_threads)
        assert isinstance(source, StreamSource) and source.live
        source.open()
        frames = [source.read() for _ in range(8)]
        facts = source.describe()
        source.release()
    assert all(ok for ok, _ in frames) and frames[0][1].shape == (96, 128, 3)
    if decode_threads and hasattr(cv2, "CAP_PROP_N_THREADS"):
        assert facts["decode_threads"] == decode_threads


def test_stream_that_is_down_fails_or_is_waited_for(free_port):
    source = make_source(f"http://127.0.0.1:{free_port}/stream.mjpg")
    with pytest.raises(SourceError, match="cannot open stream"):
        source.open()
    stop = threading.Event()
    messages, servers = [], []

    def start_server_after_first_retry(message):
        messages.append(message)
        if not servers:
            servers.append(MjpegServer(port=free_port).__enter__())

    assert open_with_retry(source, stop, wait=True, backoff=Backoff(first=0.01),
                           log=start_server_after_first_retry)
    source.release()
    servers[0].__exit__()
    assert "retrying" in messages[0] and messages[-1] == "tfedge run: source opened"


def test_waiting_for_a_source_stops_when_asked(free_port):
    stop = threading.Event()
    stop.set()
    source = make_source(f"http://127.0.0.1:{free_port}/x.mjpg")
    assert open_with_retry(source, stop, wait=True, log=lambda _m: None) is False


class FakePicamera2:
    """Stands in for picamera2.Picamera2 (no CSI camera here); records how it was driven."""

    instances = []

    def __init__(self, camera_num=0):
        self.camera_num = camera_num
        self.calls = []
        self.config = None
        FakePicamera2.instances.append(self)

    def create_video_configuration(self, main, controls):
        return {"main": dict(main), "controls": dict(controls)}

    def configure(self, config):
        self.config = config
        self.config["main"]["size"] = (640, 480)  # the sensor mode it settled on
        self.calls.append("configure")

    def start(self):
        self.calls.append("start")

    def capture_array(self, stream):
        width, height = self.config["main"]["size"]
        return np.full((height, width, 4), 7, np.uint8)  # XBGR-like: four channels

    def camera_configuration(self):
        return self.config

    def capture_metadata(self):
        return {"FrameDuration": 33333}

    def stop(self):
        self.calls.append("stop")

    def close(self):
        self.calls.append("close")


def test_picamera2_adapter_with_a_fake_module(monkeypatch):
    monkeypatch.setitem(sys.modules, "picamera2", types.SimpleNamespace(Picamera2=FakePicamera2))
    source = make_source("picamera2:1", CameraRequest(width=800, height=600, fps=30))
    assert isinstance(source, PiCameraSource)
    source.open()
    camera = FakePicamera2.instances[-1]
    assert camera.camera_num == 1
    assert camera.config["main"]["format"] == "RGB888"
    assert camera.config["controls"] == {"FrameRate": 30.0}
    ok, frame = source.read()
    assert ok and frame.shape == (480, 640, 3)
    facts = source.describe()
    assert (facts["width"], facts["height"], facts["fps"]) == (640, 480, 30.0)
    assert facts["requested"] == {"width": 800, "height": 600, "fps": 30}
    source.release()
    assert camera.calls == ["configure", "start", "stop", "close"]


def test_folder_source_leaves_out_dotfiles_as_labelled_folders_do(tmp_path):
    from tfedge.edge.labelled import image_files

    for name in ("b.png", ".b.png", "sub/a.jpg", "sub/._a.jpg"):  # ._*: macOS resource forks
        (tmp_path / name).parent.mkdir(exist_ok=True)
        cv2.imwrite(str(tmp_path / name), np.full((4, 4, 3), 200, np.uint8))
    source = make_source(str(tmp_path))
    source.open()
    assert source.paths == image_files(tmp_path) == [tmp_path / "b.png", tmp_path / "sub" / "a.jpg"]
    assert source.describe()["images"] == 2
    assert [source.read()[0] for _ in range(3)] == [True, True, False]


def test_picamera2_missing_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "picamera2", None)
    with pytest.raises(DependencyError, match="python3-picamera2.*system-site-packages"):
        PiCameraSource().open()


@pytest.mark.parametrize("spec, kind", [("0", CameraSource), ("picamera2", PiCameraSource),
                                        ("rtsp://cam/stream", StreamSource), ("clip.mp4", VideoFileSource)])
def test_specs_pick_the_source(spec, kind):
    assert isinstance(make_source(spec), kind)


def test_source_kind_names_what_a_spec_is_without_opening_it(tmp_path):
    kinds = {"0": SourceKind.CAMERA, "12": SourceKind.CAMERA, "picamera2": SourceKind.PICAMERA,
             "picamera2:1": SourceKind.PICAMERA, "rtsp://cam/stream": SourceKind.STREAM,
             "http://cam:8080/video": SourceKind.STREAM, str(tmp_path): SourceKind.FOLDER,
             "clip.mp4": SourceKind.VIDEO, "picamera2.mp4": SourceKind.VIDEO}
    assert {spec: source_kind(spec) for spec in kinds} == kinds
    assert source_kind(3) is SourceKind.CAMERA
    assert [kind for kind in SourceKind if kind.is_path] == [SourceKind.FOLDER, SourceKind.VIDEO]


def test_missing_video_file_names_the_path(tmp_path):
    with pytest.raises(SourceError, match="no such video file"):
        make_source(str(tmp_path / "nope.mp4")).open()


@pytest.mark.parametrize("bad", [{"width": -1}, {"fps": 0}, {"height": 10**6}])
def test_absurd_camera_settings_are_refused(bad):
    with pytest.raises(ValueError, match="out of range"):
        CameraRequest(**bad)
