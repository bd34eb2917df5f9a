"""The fast path of issue 12: fast area resize, pixels written into the interpreter's input
buffer, and live frames preprocessed only when the classifier takes them."""

import argparse
import json
import threading

import cv2
import numpy as np
import pytest

from tfedge.edge.card import ModelCard
from tfedge.edge.classify import Classifier
from tfedge.edge.live.capture import END, Capture
from tfedge.edge.preprocess import preprocess, resize, to_pixels
from tfedge.edge.threads import auto_threads, decode_threads, threads_option
from tfedge.main import main


def textured(height, width, seed=0):
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), (0, 0), 2)


@pytest.mark.parametrize("shape", [(720, 1280), (480, 640), (301, 517), (225, 230)])
def test_fast_shrink_stays_within_a_level_or_two_of_inter_area(shape):
    frame = textured(*shape)
    fast = resize(frame, 224, 224).astype(int)
    area = cv2.resize(frame, (224, 224), interpolation=cv2.INTER_AREA).astype(int)
    assert fast.shape == (224, 224, 3)
    assert np.abs(fast - area).mean() < 1.0
    assert np.abs(fast - area).max() <= 12


def test_growing_and_exact_sizes_are_unchanged_from_plain_opencv():
    small = textured(20, 30)
    assert np.array_equal(resize(small, 60, 40), cv2.resize(small, (60, 40), interpolation=cv2.INTER_LINEAR))
    assert resize(small, 30, 20) is small


def test_to_pixels_writes_into_a_given_buffer():
    card = ModelCard(labels=["a", "b"], input_size=(32, 48), color_order="RGB")
    out = np.zeros((32, 48, 3), np.uint8)
    frame = textured(100, 150)
    assert to_pixels(frame, card, out=out) is out
    assert np.array_equal(out, to_pixels(frame, card))


def test_frame_loaded_in_place_classifies_as_the_prepared_tensor(tflite_models):
    classifier = Classifier(tflite_models["int8"], num_threads=1)
    frame = textured(120, 160)
    in_place = classifier.classify(frame).scores
    prepared = classifier.classify(tensor=classifier.prepare(frame)).scores
    assert np.array_equal(in_place, prepared)
    wrong_size = preprocess(frame, ModelCard(labels=["a"], input_size=(8, 8)), classifier.input_detail)
    assert np.array_equal(classifier.classify(frame, tensor=wrong_size).scores, in_place)


class CountingPrepare:
    def __init__(self):
        self.calls = 0

    def __call__(self, frame):
        self.calls += 1
        return frame


class LiveFramesFake:
    """A fake live source (a camera is hardware): `count` frames, then the end."""

    live = True

    def __init__(self, count):
        self.left = count
        self.released = threading.Event()

    def open(self):
        pass

    def read(self):
        if self.left == 0:
            return False, None
        self.left -= 1
        return True, np.zeros((4, 4, 3), np.uint8)

    def describe(self):
        return {"source": "fake", "fps": 200}

    def release(self):
        self.released.set()


def test_live_frames_are_not_preprocessed_in_the_capture_thread():
    prepare = CountingPrepare()
    source = LiveFramesFake(50)
    source.live = False  # ends at the last frame instead of reconnecting
    capture = Capture(source, prepare=prepare, realtime=True).start()
    items = []
    while (item := capture.get(timeout=1.0)) is not END:
        if item is not None:
            items.append(item)
    capture.stop()
    assert prepare.calls == 0 and items and all(item.tensor is None for item in items)


def test_threads_auto_leaves_a_core_to_capture():
    assert auto_threads(4) == 3 and auto_threads(2) == 1 and auto_threads(1) == 1
    assert threads_option("auto") == "auto" and threads_option("3") == 3
    with pytest.raises(argparse.ArgumentTypeError):
        threads_option("many")


def test_videos_decode_on_the_cores_the_interpreter_leaves():
    assert decode_threads(1, 2) == 1 and decode_threads(3, 4) == 1 and decode_threads(1, 4) == 3
    assert decode_threads(4, 4) == 1 and decode_threads(8, 2) == 1
    assert decode_threads(None, 4) is None  # the backend's own thread count: FFmpeg's own choice


def test_a_video_decoded_on_one_thread_gives_the_same_frames(labelled_video):
    from tfedge.edge.live.sources import make_source

    def frames(threads):
        source = make_source(str(labelled_video), decode_threads=threads)
        source.open()
        try:
            read = [source.read()[1] for _ in range(6)]
            return read, source.describe()
        finally:
            source.release()

    one, facts = frames(1)
    default, default_facts = frames(None)
    assert all(np.array_equal(a, b) for a, b in zip(one, default))
    assert "decode_threads" not in default_facts
    if hasattr(cv2, "CAP_PROP_N_THREADS"):  # OpenCV 4.6 and later
        assert facts["decode_threads"] == 1


def test_run_with_threads_auto_names_the_count_it_chose(capsys, tflite_models, labelled_video):
    code = main(["run", str(tflite_models["int8"]), "--source", str(labelled_video), "--headless",
                 "--threads", "auto", "--max-frames", "3"])
    captured = capsys.readouterr()
    assert code == 0 and json.loads(captured.out.splitlines()[-1])["summary"]["frames"] == 3
    assert f"(threads: {auto_threads()}" in captured.err  # and, split, where its threads run
    source = json.loads(captured.err.split("tfedge run: source ", 1)[1].splitlines()[0])
    if hasattr(cv2, "CAP_PROP_N_THREADS"):
        assert source["decode_threads"] == decode_threads(auto_threads())


def test_bench_shows_the_whole_pipeline_fps_per_thread_count(capsys, tflite_models, labelled_video):
    from tfedge.edge.interpreter import resolve_backend

    backend = resolve_backend("auto").name  # litert here; tflite-runtime in the older device venv
    code = main(["bench", str(tflite_models["int8"]), "--threads", "1", "2", "--backends", backend,
                 "--runs", "5", "--video", str(labelled_video), "--frames", "10", "--json"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0 and [row["threads"] for row in rows] == [1, 2]
    assert all(row["pipeline_fps"] > 0 for row in rows)
    assert main(["bench", str(tflite_models["int8"]), "--video", "no-such.mp4"]) == 6


def test_file_frames_carry_the_classifier_their_tensor_was_made_for(tflite_models, labelled_video):
    from tfedge.edge.live.sources import make_source

    classifier = Classifier(tflite_models["int8"], num_threads=1)
    source = make_source(str(labelled_video))
    source.open()
    capture = Capture(source, prepare=classifier.prepare).start()
    item = capture.get(timeout=5.0)
    capture.stop()
    assert item.prepared_for is classifier and classifier.fits(item.tensor)
    assert np.array_equal(item.tensor, classifier.prepare(item.image))


def test_file_capture_decodes_no_further_than_queue_size_ahead():
    """At most queue_size decoded frames wait besides the one being classified (peak memory)."""
    import time

    source = LiveFramesFake(30)
    source.live = False
    capture = Capture(source, queue_size=1).start()
    taken, ahead = 0, []
    while (item := capture.get(timeout=1.0)) is not END:
        if item is None:
            continue
        taken += 1
        time.sleep(0.005)  # classifying: the capture thread would read on meanwhile
        ahead.append(30 - source.left - taken)  # read but not yet taken
    capture.stop()
    assert taken == 30 and max(ahead) == 1


def test_a_file_reads_one_picture_ahead_while_pictures_are_wanted_and_further_without():
    """keep_images as a function (a web page with or without a viewer): asked before each frame
    is read; the read-ahead is TENSORS_AHEAD tensors while it says no, one picture while yes."""
    import time

    from tfedge.edge.live.capture import TENSORS_AHEAD

    source = LiveFramesFake(60)
    source.live = False
    wanted = threading.Event()
    capture = Capture(source, prepare=lambda image: image[:2, :2].copy(), keep_images=wanted.is_set).start()
    taken, ahead = [], {False: [], True: []}
    while (item := capture.get(timeout=1.0)) is not END:
        if item is None:
            continue
        taken.append(item)
        if len(taken) == 20:
            wanted.set()
        if len(taken) == 40:
            wanted.clear()
        time.sleep(0.005)  # classifying: the capture thread reads on meanwhile
        ahead[wanted.is_set()].append(60 - source.left - len(taken))  # read but not yet taken
    capture.stop()
    pictures = [item.image is not None for item in taken]
    assert len(taken) == 60 and all(item.tensor is not None for item in taken)
    assert max(ahead[False]) == TENSORS_AHEAD and max(ahead[True][TENSORS_AHEAD:]) == 1
    assert not any(pictures[:20 + 1]) and all(pictures[20 + TENSORS_AHEAD + 1:40])
    assert not any(pictures[40 + 2:])


def test_without_pictures_a_file_queues_tensors_only_and_reads_further_ahead(tflite_models, labelled_video):
    """No sink needs the pictures: frames carry their tensor only (the same tensors), and the
    capture thread may read TENSORS_AHEAD frames ahead to ride out slow decodes."""
    import time

    from tfedge.edge.live.capture import TENSORS_AHEAD
    from tfedge.edge.live.sources import make_source

    classifier = Classifier(tflite_models["int8"], num_threads=1)

    def frames(keep_images):
        source = make_source(str(labelled_video))
        source.open()
        capture = Capture(source, prepare=classifier.prepare, keep_images=keep_images).start()
        taken, ahead = [], []
        while (item := capture.get(timeout=5.0)) is not END:
            if item is None:
                continue
            taken.append(item)
            time.sleep(0.01)  # classifying: the capture thread reads on meanwhile
            ahead.append(capture._queue.qsize())
        capture.stop()
        return taken, max(ahead)

    with_pictures, ahead_with = frames(True)
    tensors_only, ahead_without = frames(False)
    assert [f.index for f in tensors_only] == [f.index for f in with_pictures]
    assert all(f.image is None and f.prepared_for is classifier for f in tensors_only)
    assert all(np.array_equal(a.tensor, b.tensor) for a, b in zip(tensors_only, with_pictures))
    assert ahead_with == 1 and ahead_without == TENSORS_AHEAD


def test_a_headless_run_to_stdout_gives_the_same_results_without_pictures(capsys, tflite_models,
                                                                          labelled_video, tmp_path):
    """`tfedge run --headless` (JSON lines only: no sink needs pictures) against the same run with
    a sink that takes them (--snapshot-dir through --on keeps pictures): same frames, same scores."""
    def results(*extra):
        assert main(["run", str(tflite_models["int8"]), "--source", str(labelled_video), "--headless",
                     *extra]) == 0
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        return [(r["frame"], r["label"], r["score"]) for r in lines if "frame" in r]

    from tfedge.edge.card import read_embedded_card

    label = read_embedded_card(tflite_models["int8"].read_bytes()).labels[0]
    plain = results()
    with_pictures = results("--on", label, "--cooldown", "1000", "--snapshot-dir", str(tmp_path))
    assert len(plain) > 10 and plain == with_pictures

