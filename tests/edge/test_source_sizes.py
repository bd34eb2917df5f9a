"""Frames at the right size from the source (issue 12): reduced JPEG decoding, the smallest V4L2
camera mode at least the model's input, picamera2's lores stream. No camera exists here: the
mode choice is a pure function, and the ioctl, VideoCapture and picamera2 plumbing run against
stand-ins named as such (FakeV4L2Ioctl, ModeVideoCapture, FakeLoresPicamera2)."""

import struct
import sys
import types

import cv2
import numpy as np
import pytest
from test_sources import FakePicamera2, FakeVideoCapture

from tfedge.edge.card import ModelCard
from tfedge.edge.labelled import load_pixels
from tfedge.edge.live.sources import (
    CameraRequest,
    CameraSource,
    FolderSource,
    PiCameraSource,
    lores_size,
    make_source,
)
from tfedge.edge.live.v4l2_modes import (
    VIDIOC_ENUM_FMT,
    VIDIOC_ENUM_FRAMESIZES,
    smallest_mode,
    stepwise_mode,
    v4l2_frame_sizes,
)
from tfedge.edge.preprocess import ModelView, decode_image, jpeg_size, model_size, reduced_factor, to_pixels


def photo(height, width, seed=0):
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), (0, 0), 6)


def card(size=(224, 224), order="RGB", resize="stretch"):
    return ModelCard(labels=["a", "b"], input_size=size, color_order=order, resize=resize)


# --- reduced JPEG decoding ---------------------------------------------------------------------

@pytest.mark.parametrize("options", [[], [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]])
def test_jpeg_size_reads_the_frame_header_of_real_jpegs(options):
    ok, data = cv2.imencode(".jpg", photo(90, 160), options)
    assert jpeg_size(data.tobytes()) == jpeg_size(data) == (160, 90)
    assert jpeg_size(data.tobytes()[:20]) is None  # cut before its frame header
    ok, png = cv2.imencode(".png", photo(9, 16))
    assert jpeg_size(png.tobytes()) is None and jpeg_size(b"") is None


@pytest.mark.parametrize("stored, model, factor", [
    ((1920, 1080), (224, 224), 4),  # 1080 // 4 = 270 >= 224; // 8 = 135 is not
    ((1920, 1080), (96, 96), 8),
    ((1920, 1080), (28, 28), 8),  # 1/8 is the most libjpeg scales
    ((640, 480), (224, 224), 2),
    ((447, 500), (224, 224), 1),  # its short side halved is 223
    ((4000, 300), (160, 224), 1),  # short side against the long target side: EXIF may turn it
])
def test_reduced_factor_keeps_the_image_at_least_the_model_input(stored, model, factor):
    assert reduced_factor(stored, model, margin=1) == factor


@pytest.mark.parametrize("stored, model, factor", [
    ((1280, 720), (28, 28), 4),  # small inputs: at least 4x (720 // 4 = 180 >= 112)
    ((1920, 1080), (96, 96), 2),  # 540 >= 384, 270 is not
    ((1280, 720), (224, 224), 1),  # inputs over 96x96: never reduced (measured: -0.54 pp)
    ((4032, 3024), (224, 224), 1),
    ((4032, 3024), (96, 96), 4),  # a phone photo: 3024 // 4 = 756 >= 384; // 8 = 378 is not
])
def test_by_default_a_reduced_jpeg_keeps_a_margin_over_the_input(stored, model, factor):
    assert reduced_factor(stored, model) == factor


def test_large_jpegs_decode_reduced_and_stay_close_to_a_full_decode(tmp_path):
    path = tmp_path / "photo.jpg"
    cv2.imwrite(str(path), photo(1080, 1920), [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert decode_image(path).shape == (1080, 1920, 3)
    reduced = decode_image(path, (96, 96))
    assert reduced.shape == (540, 960, 3)  # 1/2: 540 >= 4 * 96; 1/4 is not
    assert decode_image(path, (224, 224)).shape == (1080, 1920, 3)  # larger inputs: never reduced
    full_pixels, reduced_pixels = (to_pixels(frame, card((96, 96))).astype(int)
                                   for frame in (decode_image(path), reduced))
    assert np.abs(full_pixels - reduced_pixels).mean() < 1.0
    png = tmp_path / "photo.png"
    cv2.imwrite(str(png), photo(1080, 1920))
    assert decode_image(png, (96, 96)).shape == (1080, 1920, 3)  # only JPEGs have reduced decoding
    small = tmp_path / "small.jpg"
    cv2.imwrite(str(small), photo(300, 400))
    assert decode_image(small, (96, 96)).shape == (300, 400, 3)


def test_training_verify_and_a_folder_source_see_the_same_pixels_of_a_large_jpeg(tmp_path):
    from tfedge.edge.evaluation import evaluate

    (tmp_path / "a").mkdir()
    path = tmp_path / "a" / "photo.jpg"
    cv2.imwrite(str(path), photo(960, 1280))
    model = card((28, 28))
    trained, _, _ = load_pixels([(path, 0)], model)
    source = make_source(str(tmp_path / "a"), at_least=model_size(model))
    assert isinstance(source, FolderSource)
    source.open()
    ok, frame = source.read()
    assert ok and frame.shape == (120, 160, 3)  # 1/8: 960 // 8 = 120 >= 4 * 28
    assert np.array_equal(trained[0], to_pixels(frame, model))

    class RecordingClassifier:  # stands in for Classifier: records the frame it is given
        def __init__(self):
            self.card, self.frames = model, []

        def classify(self, frame):
            self.frames.append(frame)
            return types.SimpleNamespace(index=0, inference_ms=0.0)

    recorder = RecordingClassifier()
    evaluate(recorder, [(path, 0)], ["a", "b"])
    assert np.array_equal(recorder.frames[0], frame)


# --- the smallest V4L2 camera mode at least the model's input ----------------------------------

def test_smallest_mode_at_least_the_model_input():
    modes = [(1280, 720), (640, 480), (320, 240), (424, 240), (160, 120), (1920, 1080)]
    assert smallest_mode(modes, (224, 224)) == (320, 240)
    assert smallest_mode(modes, (300, 224), like=(1280, 720)) == (320, 240)
    assert smallest_mode(modes, (96, 96)) == (160, 120)
    assert smallest_mode(modes, (1000, 1000)) == (1920, 1080)
    assert smallest_mode(modes, (2000, 1000)) is None
    assert smallest_mode([(240, 320), (320, 240)], (224, 224), like=(640, 480)) == (320, 240)  # same area
    assert smallest_mode([(240, 320), (320, 240)], (224, 224), like=(480, 640)) == (240, 320)


def test_stepwise_mode_keeps_the_aspect_ratio_and_the_steps():
    assert stepwise_mode((16, 16), (1920, 1080), (16, 8), (224, 224), like=(1280, 720)) == (400, 224)
    assert stepwise_mode((16, 16), (1920, 1080), (1, 1), (224, 224), like=(640, 480)) == (299, 224)
    assert stepwise_mode((16, 16), (200, 200), (1, 1), (224, 224)) is None


class FakeV4L2Ioctl:
    """Stands in for fcntl.ioctl on /dev/videoN (no camera here): answers VIDIOC_ENUM_FMT and
    VIDIOC_ENUM_FRAMESIZES from a table into the caller's buffer and returns 0, EINVAL past its
    end, as fcntl.ioctl with a mutable buffer and the kernel do."""

    def __init__(self, formats):
        self.formats = formats  # [(fourcc, [("discrete", w, h) | ("stepwise", 6 values)])]
        self.calls = []

    def __call__(self, fd, request, buffer):
        self.calls.append(request)
        if request == VIDIOC_ENUM_FMT:
            index, kind = struct.unpack_from("=II", buffer)
            assert kind == 1  # V4L2_BUF_TYPE_VIDEO_CAPTURE
            if index >= len(self.formats):
                raise OSError(22, "Invalid argument")
            fourcc = int.from_bytes(self.formats[index][0].encode(), "little")
            struct.pack_into("=I", buffer, 44, fourcc)
            return 0
        assert request == VIDIOC_ENUM_FRAMESIZES and len(buffer) == 44
        index, fourcc = struct.unpack_from("=II", buffer)
        sizes = dict((int.from_bytes(f.encode(), "little"), s) for f, s in self.formats)[fourcc]
        if index >= len(sizes):
            raise OSError(22, "Invalid argument")
        kind, *values = sizes[index]
        struct.pack_into("=I6I", buffer, 8, 1 if kind == "discrete" else 3, *values, *[0] * (6 - len(values)))
        return 0


def test_v4l2_frame_sizes_through_a_fake_ioctl():
    fake = FakeV4L2Ioctl([("YUYV", [("discrete", 640, 480), ("discrete", 320, 240)]),
                          ("MJPG", [("discrete", 1280, 720), ("discrete", 160, 120)]),
                          ("GREY", [("stepwise", 16, 1920, 16, 16, 1080, 8)])])
    sizes = v4l2_frame_sizes(3, (224, 224), like=(640, 480), ioctl=fake)
    assert sizes == [(640, 480), (320, 240), (1280, 720), (160, 120), (304, 224)]
    assert VIDIOC_ENUM_FMT == 0xC0405602 and VIDIOC_ENUM_FRAMESIZES == 0xC02C564A  # as videodev2.h


class ModeVideoCapture(FakeVideoCapture):
    """A fake camera (see FakeVideoCapture) with more modes, granting the nearest by width."""

    MODES = [(640, 480, 30.0), (1280, 720, 15.0), (320, 240, 30.0), (160, 120, 30.0)]


def test_camera_asks_for_the_smallest_mode_at_least_the_model_input():
    listed = []

    def lister(index, at_least, like):  # stands in for camera_modes (VIDIOC_ENUM_FRAMESIZES)
        listed.append((index, at_least, like))
        return [(mode[0], mode[1]) for mode in ModeVideoCapture.MODES]

    source = CameraSource(0, at_least=(224, 224), capture_factory=ModeVideoCapture, mode_lister=lister)
    source.open()
    facts = source.describe()
    assert (facts["width"], facts["height"]) == (320, 240) and facts["mode"]
    assert listed == [(0, (224, 224), (640, 480))]
    assert source.read()[1].shape == (240, 320, 3)
    source.release()

    given = CameraSource(0, CameraRequest(width=1280), at_least=(224, 224), capture_factory=ModeVideoCapture,
                         mode_lister=lister)
    given.open()  # --width/--height stay overrides
    assert given.describe()["width"] == 1280 and len(listed) == 1 and "mode" not in given.describe()


def test_camera_keeps_its_default_mode_when_no_smaller_mode_is_taken():
    class Stubborn(ModeVideoCapture):  # a fake camera that lists modes it then refuses
        def set(self, prop, value):
            return False

    source = CameraSource(0, at_least=(224, 224), capture_factory=Stubborn,
                          mode_lister=lambda *_: [(320, 240)])
    source.open()
    assert (source.describe()["width"], source.describe()["height"]) == (640, 480)
    none_listed = CameraSource(0, at_least=(224, 224), capture_factory=ModeVideoCapture,
                               mode_lister=lambda *_: [])
    none_listed.open()  # not Linux, no /dev/videoN access: the default mode
    assert none_listed.describe()["width"] == 640
    large = CameraSource(0, at_least=(800, 600), capture_factory=ModeVideoCapture,
                         mode_lister=lambda *_: [(m[0], m[1]) for m in ModeVideoCapture.MODES])
    large.open()  # the default is too small for the model: a larger mode
    assert large.describe()["width"] == 1280


# --- picamera2's lores stream -----------------------------------------------------------------

def test_lores_size_is_the_smallest_at_least_the_model_input_with_the_main_aspect_ratio():
    assert lores_size((640, 480), (224, 224)) == (320, 224)
    assert lores_size((1280, 720), (224, 224)) == (448, 224)
    assert lores_size((1280, 720), (96, 96)) == (192, 96)
    assert lores_size((640, 480), (640, 480)) is None  # not smaller than main: no lores stream


class FakeLoresPicamera2(FakePicamera2):
    """Stands in for picamera2.Picamera2 with a lores stream (no CSI camera here): the main stream
    is a gradient, the lores stream the same scene scaled down, in YUV420 (I420) as on a Pi."""

    def create_video_configuration(self, main, controls, lores=None):
        config = super().create_video_configuration(main, controls)
        if lores is not None:
            config["lores"] = dict(lores)
        return config

    def configure(self, config):
        self.config = config
        self.calls.append("configure")

    def capture_arrays(self, names):
        width, height = self.config["main"]["size"]
        main = np.zeros((height, width, 4), np.uint8)
        main[..., 2] = np.linspace(0, 255, width, dtype=np.uint8)  # red grows to the right
        lores_width, lores_height = self.config["lores"]["size"]
        small = cv2.resize(main[..., :3], (lores_width, lores_height), interpolation=cv2.INTER_AREA)
        self.calls.append("capture_arrays")
        return [main, cv2.cvtColor(small, cv2.COLOR_BGR2YUV_I420)], {}


def test_picamera2_classifies_from_the_lores_stream_and_shows_the_main_one(monkeypatch):
    monkeypatch.setitem(sys.modules, "picamera2", types.SimpleNamespace(Picamera2=FakeLoresPicamera2))
    model = card((96, 96))
    source = make_source("picamera2", CameraRequest(width=640, height=480), at_least=model_size(model))
    assert isinstance(source, PiCameraSource)
    source.open()
    camera = FakeLoresPicamera2.instances[-1]
    assert camera.config["lores"] == {"size": (128, 96), "format": "YUV420"}
    ok, frame = source.read()
    assert ok and frame.shape == (480, 640, 3) and frame.model_view.shape == (96, 128, 3)
    assert source.describe()["model_stream"] == "lores 128x96"
    pixels = to_pixels(frame, model)
    assert np.array_equal(pixels, to_pixels(frame.model_view, model))
    assert np.abs(pixels.astype(int) - to_pixels(np.ascontiguousarray(frame), model)).mean() < 3
    source.release()


def test_a_model_view_is_used_only_when_it_is_large_enough():
    frame, small = photo(480, 640), photo(120, 160, seed=1)
    view = ModelView.of(frame, small)
    assert np.array_equal(to_pixels(view, card((96, 96))), to_pixels(small, card((96, 96))))
    assert np.array_equal(to_pixels(view, card((224, 224))), to_pixels(frame, card((224, 224))))
    assert getattr(view[:10], "model_view", None) is None  # a slice is a plain frame again


def test_the_real_ioctl_on_a_node_that_is_no_camera_lists_nothing(tmp_path):
    import os

    fd = os.open(os.devnull, os.O_RDWR)
    try:
        assert v4l2_frame_sizes(fd, (224, 224)) == []  # ENOTTY from the kernel: no modes, no error
    finally:
        os.close(fd)


def test_capture_hands_the_lores_stream_to_a_real_classifier(monkeypatch, tflite_models):
    from tfedge.edge.classify import Classifier
    from tfedge.edge.live.capture import Backoff, Capture

    class InvertedLores(FakeLoresPicamera2):  # a stand-in whose lores stream is the negative of
        def capture_arrays(self, names):     # main, so the test can tell which one was classified
            (main, yuv), metadata = super().capture_arrays(names)
            return [main, 255 - yuv], metadata

    monkeypatch.setitem(sys.modules, "picamera2", types.SimpleNamespace(Picamera2=InvertedLores))
    classifier = Classifier(tflite_models["int8"])
    source = make_source("picamera2", at_least=model_size(classifier.card))
    source.open()
    capture = Capture(source, backoff=Backoff(first=10)).start()
    item = capture.get(timeout=5.0)
    capture.stop()
    source.release()
    assert item.image.shape == (480, 640, 3)
    scores = classifier.classify(item.image).scores
    assert np.array_equal(scores, classifier.classify(item.image.model_view).scores)
    assert not np.array_equal(scores, classifier.classify(np.asarray(item.image)).scores)


def test_a_dropped_picamera2_frame_is_never_converted(monkeypatch):
    """The live capture grabs every picamera2 frame (up to 100 FPS here) but converts the lores
    stream's YUV420 to BGR only for frames the classifier (50 ms a frame) takes: dropped ones cost
    nothing. (The bounds leave room for an emulated Pi's slower grabs.)"""
    import threading

    from tfedge.edge.live.capture import END, Capture

    class PacedLores(FakeLoresPicamera2):  # a camera delivers a frame every 10 ms, no faster
        def capture_arrays(self, names):
            threading.Event().wait(0.01)
            return super().capture_arrays(names)

    conversions, grabs, convert = [], [], cv2.cvtColor

    def counting_cvtColor(image, code, *args):  # noqa: N802 - OpenCV's name, counted
        if code == cv2.COLOR_YUV2BGR_I420:
            conversions.append(image.shape)
        return convert(image, code, *args)

    class CountingGrabs(PacedLores):
        def capture_arrays(self, names):
            grabs.append(names)
            return super().capture_arrays(names)

    monkeypatch.setattr(cv2, "cvtColor", counting_cvtColor)
    monkeypatch.setitem(sys.modules, "picamera2", types.SimpleNamespace(Picamera2=CountingGrabs))
    source = PiCameraSource(at_least=(96, 96))
    source.open()
    capture = Capture(source).start()
    taken = []
    while len(taken) < 10 and (item := capture.get(timeout=1.0)) is not END:
        if item is not None:
            taken.append(item)
            threading.Event().wait(0.05)  # the classifier's invoke()
    capture.stop()
    source.release()
    assert len(taken) == 10 and capture.dropped_frames >= 8 and len(grabs) >= 18
    assert all(item.image.model_view.shape == (96, 128, 3) for item in taken)
    assert len(conversions) <= len(taken) + 5  # a frame converted but not taken is a misjudgement
