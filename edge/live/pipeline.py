"""The inference loop: take the next captured frame, run the interpreter on it, hand it on.

Three threads share the work so that the interpreter waits for nothing: capture (and
preprocessing) in tfedge.edge.live.capture, this loop (the model swap between two frames, the
input tensor, invoke()), and the result stage (scores, smoothing, the result, the sinks) in
tfedge.edge.live.results. Sinks return at once and do their slow work in their own threads, so
the interpreter never waits for drawing, encoding or network output. See tfedge.edge.sinks for
the result and summary keys.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from tfedge.edge.classify import Classifier
from tfedge.edge.live.capture import END, Capture
from tfedge.edge.live.results import Classified, ResultStage
from tfedge.edge.live.smoothing import SmoothingSettings


@dataclass(frozen=True)
class RunOptions:
    """What the inference loop reports and when it stops.

    Attributes:
        max_frames: stop after this many classified frames (None: until the source ends).
        top_k: how many (label, score) pairs each result lists.
        score_threshold: pairs below this score are left out of top_k; a stable label needs it.
        smoothing: temporal smoothing of the stable label.
    """

    max_frames: int | None = None
    top_k: int = 3
    score_threshold: float = 0.0
    smoothing: SmoothingSettings = field(default_factory=SmoothingSettings)


def run_pipeline(classifier: Classifier, capture: Capture, sinks: list, options: RunOptions = RunOptions(),
                 stop: threading.Event | None = None, info: dict | None = None, models=None,
                 cores=None) -> dict:
    """Classify frames from a started `capture` until it ends, `stop` is set, `max_frames` is
    reached or a sink sets `stop_requested`. Closes every sink with the summary and returns it.

    `models`: a tfedge.edge.live.hot_swap.HotSwap that may hand over a new classifier between
    two frames (the capture must prepare with its `prepare`); None: `classifier` throughout.
    `cores`: a tfedge.edge.cores.CorePlan; once the result stage runs, every other thread of the
    process moves to its helper cores (None: threads run where the OS puts them).
    """
    stop = stop or threading.Event()
    results = ResultStage(sinks, options, capture, info, None if models is None else models.pop_event)
    if cores is not None:
        cores.place_helpers()  # the last helper thread of the run has started
    stopped_by, classified = "end of source", 0
    try:
        while True:
            if stop.is_set():
                stopped_by = "signal"
                break
            if results.stop_requested or results.error is not None:
                break
            if options.max_frames is not None and classified >= options.max_frames:
                stopped_by = "max frames"
                break
            item = capture.get(timeout=0.1)
            if item is None:
                continue
            if item is END:
                if capture.error is not None:
                    raise capture.error
                break
            # a tensor made for another classifier (before a model swap) is made again for this one
            tensor = item.tensor if item.prepared_for is classifier else None
            model_change = model = None
            if models is not None:  # hot swap: the model may change here, between two frames
                classifier, tensor, model_change = models.input_for(item)
                model = models.short_sha
            raw, inference_ms = classifier.run(item.image, tensor=tensor)
            results.put(Classified(item, classifier, raw, inference_ms, model_change, model))
            classified += 1
            item = None  # the frame goes now, not after the next one is decoded (peak memory)
    finally:
        capture.stop()
        summary = results.finish(stopped_by)
    if results.error is not None:
        raise results.error
    return summary
