"""The result stage: sinks run in their own thread while the interpreter runs the next frame,
in frame order, one frame at most waiting; a sink's stop or error ends the run as before."""

import threading
import time

import numpy as np
import pytest

from tfedge.edge.classify import Classifier
from tfedge.edge.live.capture import Capture
from tfedge.edge.live.pipeline import RunOptions, run_pipeline
from tfedge.edge.live.sources import make_source


class Recorder:
    """A sink that keeps what it is given; `on_emit(recorder)` runs after each result."""

    needs_frames = False

    def __init__(self, on_emit=None):
        self.results, self.threads, self.summary = [], set(), None
        self.on_emit = on_emit
        self.stop_requested = False

    def emit(self, result, frame=None):
        self.results.append(result)
        self.threads.add(threading.current_thread().name)
        if self.on_emit is not None:
            self.on_emit(self)

    def close(self, summary):
        self.summary = summary


class CountingClassifier(Classifier):
    """A real classifier that counts its invoke() calls (which thread, how many so far)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.runs, self.run_threads = 0, set()

    def run(self, frame=None, tensor=None):
        output = super().run(frame, tensor)
        self.runs += 1
        self.run_threads.add(threading.current_thread().name)
        return output


def start_capture(video, classifier, keep_images=False):
    source = make_source(str(video))
    source.open()
    return Capture(source, prepare=classifier.prepare, keep_images=keep_images).start()


def test_sinks_run_beside_the_interpreter_in_frame_order_with_the_same_results(tflite_models,
                                                                               labelled_video):
    classifier = CountingClassifier(tflite_models["int8"], num_threads=1)
    runs_at_emit = []

    def slow(recorder):  # a sink taking 30 ms: the interpreter classifies the next frame meanwhile
        time.sleep(0.03)
        runs_at_emit.append(classifier.runs - len(recorder.results))

    sink = Recorder(slow)
    summary = run_pipeline(classifier, start_capture(labelled_video, classifier), [sink],
                           RunOptions(max_frames=12))
    assert summary["frames"] == 12 and sink.summary == summary
    assert [r["frame"] for r in sink.results] == list(range(12))
    assert sink.threads == {"tfedge-results"} and "tfedge-results" not in classifier.run_threads
    # at each emit: the next frame was classified while the sink worked, and no more than that
    assert max(runs_at_emit) == 1 and runs_at_emit.count(1) >= 10

    # the same labels and scores as classifying the same frames one by one
    source = make_source(str(labelled_video))
    source.open()
    for result in sink.results:
        _, frame = source.read()
        prediction = classifier.classify(frame)
        assert result["label"] == prediction.label
        assert result["score"] == round(prediction.score, 4)
    source.release()


def test_a_sink_asking_to_stop_ends_the_run_after_its_result(tflite_models, labelled_video):
    classifier = Classifier(tflite_models["int8"], num_threads=1)

    def stop_at_five(recorder):
        recorder.stop_requested = len(recorder.results) >= 5

    asking, other = Recorder(stop_at_five), Recorder()
    summary = run_pipeline(classifier, start_capture(labelled_video, classifier), [asking, other])
    assert summary["stopped_by"] == "output" and summary["frames"] == 5
    assert len(asking.results) == len(other.results) == 5 and other.summary == summary


def test_a_sink_that_raises_stops_the_run_with_its_error_and_every_sink_is_closed(tflite_models,
                                                                                  labelled_video):
    classifier = Classifier(tflite_models["int8"], num_threads=1)

    def fail_at_three(recorder):
        if len(recorder.results) == 3:
            raise OSError("disk full")

    failing, other = Recorder(fail_at_three), Recorder()
    capture = start_capture(labelled_video, classifier, keep_images=True)
    with pytest.raises(OSError, match="disk full"):
        run_pipeline(classifier, capture, [failing, other])
    assert len(failing.results) == 3 and len(other.results) == 2  # nothing after the failure
    assert failing.summary is not None and other.summary is not None
    assert capture.stop_event.is_set()


def test_classify_is_run_then_prediction(tflite_models, labelled_video):
    """`run` gives the raw output (a copy) and the invoke time; `prediction` the same scores
    as `classify`, from any thread."""
    classifier = Classifier(tflite_models["int8"], num_threads=1)
    source = make_source(str(labelled_video))
    source.open()
    _, first = source.read()
    _, second = source.read()
    source.release()
    raw, inference_ms = classifier.run(first)
    classifier.run(second)  # the interpreter's output changes; the copy does not
    assert inference_ms > 0
    expected = classifier.classify(first)
    made = []
    worker = threading.Thread(target=lambda: made.append(classifier.prediction(raw, inference_ms)))
    worker.start()
    worker.join()
    assert np.array_equal(made[0].scores, expected.scores) and made[0].label == expected.label
    with pytest.raises(ValueError, match="needs a frame"):
        classifier.run()

