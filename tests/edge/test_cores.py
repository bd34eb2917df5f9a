"""Cores for the interpreter, cores for the rest: `--threads N` below the cores keeps capture, the
result stage and the sinks off the interpreter's cores (Linux), and gives the caller's thread
its cores back at the end."""

import os
import sys
import threading

import pytest

from tfedge.edge.classify import Classifier
from tfedge.edge.cores import CorePlan, CoreSplit, core_split
from tfedge.edge.live.capture import Capture
from tfedge.edge.live.pipeline import RunOptions, run_pipeline
from tfedge.edge.live.sources import make_source
from tfedge.main import main

LINUX_TWO_CORES = pytest.mark.skipif(
    not sys.platform.startswith("linux") or len(os.sched_getaffinity(0)) < 2,
    reason="threads are pinned on Linux with at least two cores")


def test_the_first_cores_go_to_the_interpreter_and_the_rest_to_the_others():
    if not sys.platform.startswith("linux"):
        assert core_split(1, {0, 1}) is None
        return
    assert core_split(1, {0, 1}) == CoreSplit(frozenset({0}), frozenset({1}))
    assert core_split(3, {0, 1, 2, 3}) == CoreSplit(frozenset({0, 1, 2}), frozenset({3}))
    assert core_split(2, {7, 2, 5}) == CoreSplit(frozenset({2, 5}), frozenset({7}))  # a cpuset
    for threads in (None, 2, 4, 0):  # the backend's own count, as many as the cores, or more
        assert core_split(threads, {0, 1}) is None


def test_no_split_pins_nothing():
    plan = CorePlan(None)
    assert plan.interpreter(lambda: 42) == 42 and plan.describe() == ""
    before = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    with plan:
        plan.place_helpers()
    if before is not None:
        assert os.sched_getaffinity(0) == before


@LINUX_TWO_CORES
def test_a_run_keeps_its_helper_threads_off_the_interpreters_cores(tflite_models, labelled_video):
    split = core_split(1)
    seen = {}

    class Where:  # a sink: where the result stage, the capture thread and the inference thread run
        needs_frames = False

        def emit(self, result, frame=None):
            if "results" not in seen:
                seen["results"] = os.sched_getaffinity(0)
                seen["capture"] = os.sched_getaffinity(capture._thread.native_id)
                seen["inference"] = os.sched_getaffinity(inference.native_id)

        def close(self, summary):
            pass

    def inference_thread():
        nonlocal capture
        with CorePlan(split) as cores:
            classifier = cores.interpreter(lambda: Classifier(tflite_models["int8"], num_threads=1))
            source = make_source(str(labelled_video))
            source.open()
            capture = Capture(source, prepare=classifier.prepare, keep_images=False).start()
            run_pipeline(classifier, capture, [Where()], RunOptions(max_frames=5), cores=cores)
            seen["inside"] = os.sched_getaffinity(0)
        seen["after"] = os.sched_getaffinity(0)

    capture = None
    before = os.sched_getaffinity(0)
    inference = threading.Thread(target=inference_thread)
    inference.start()
    inference.join(60)
    assert seen["inference"] == seen["inside"] == split.interpreter
    assert seen["results"] == seen["capture"] == split.helpers
    assert seen["after"] == before  # the caller's thread gets its cores back
    assert os.sched_getaffinity(0) == before


@LINUX_TWO_CORES
def test_a_model_loaded_by_another_thread_is_made_on_the_interpreters_cores():
    split = core_split(1)
    plan = CorePlan(split)
    during, after = [], []

    def watcher():
        os.sched_setaffinity(0, split.helpers)
        plan.interpreter(lambda: during.append(os.sched_getaffinity(0)))
        after.append(os.sched_getaffinity(0))

    main_cores = os.sched_getaffinity(0)
    try:
        plan.interpreter(lambda: None)  # the inference thread's: stays on the interpreter's cores
        assert os.sched_getaffinity(0) == split.interpreter
        thread = threading.Thread(target=watcher)
        thread.start()
        thread.join(30)
    finally:
        plan.__exit__(None, None, None)
    assert during == [split.interpreter] and after == [split.helpers]
    assert os.sched_getaffinity(0) == main_cores


@LINUX_TWO_CORES
def test_tfedge_run_says_where_its_threads_run_and_gives_the_cores_back(capsys, tflite_models,
                                                                        labelled_video):
    before = os.sched_getaffinity(0)
    code = main(["run", str(tflite_models["int8"]), "--source", str(labelled_video), "--headless",
                 "--threads", "1", "--max-frames", "3"])
    err = capsys.readouterr().err
    assert code == 0 and "(threads: 1; interpreter on core " in err and ", the rest on core" in err
    assert os.sched_getaffinity(0) == before
    code = main(["run", str(tflite_models["int8"]), "--source", str(labelled_video), "--headless",
                 "--max-frames", "3"])
    assert code == 0 and "(threads: default)" in capsys.readouterr().err  # the backend's: no pinning


@LINUX_TWO_CORES
def test_the_interpreters_own_worker_threads_stay_on_its_cores(tflite_models):
    """As on a 4-core Pi with `--threads 3`: the interpreter's workers (made when its tensors are
    allocated) start on the interpreter's cores and are not moved to the helpers' with the rest."""
    split = CoreSplit(frozenset({min(os.sched_getaffinity(0))}),
                      frozenset(os.sched_getaffinity(0)) - {min(os.sched_getaffinity(0))})
    seen = {}

    def inference_thread():
        with CorePlan(split) as cores:
            before = set(os.listdir("/proc/self/task"))
            classifier = cores.interpreter(lambda: Classifier(tflite_models["float32"], num_threads=2))
            workers = [int(t) for t in set(os.listdir("/proc/self/task")) - before]
            helper = threading.Thread(target=threading.Event().wait, args=(5,), daemon=True)
            helper.start()  # a helper started after the interpreter, as capture is
            cores.place_helpers()
            seen["workers"] = [os.sched_getaffinity(w) for w in workers]
            seen["helper"] = os.sched_getaffinity(helper.native_id)
            seen["interpreter threads"] = cores._interpreter_threads
            del classifier

    thread = threading.Thread(target=inference_thread)
    thread.start()
    thread.join(60)
    assert seen["workers"] and all(cores == split.interpreter for cores in seen["workers"])
    assert len(seen["interpreter threads"]) == len(seen["workers"])
    assert seen["helper"] == split.helpers
