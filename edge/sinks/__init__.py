"""Where results go. A sink is any object with these methods, called one at a time (`emit` by the
run's result stage, tfedge.edge.live.results, in frame order while the interpreter runs on):

- `start(info)` (optional), once before the first frame. `info` = {"model": path (str),
  "backend": "litert 1.2.0", "labels": [...], "source": source.describe(), and from `tfedge run`
  "model_sha256": the sha256 of the model it started with}.
- `emit(result, frame)` for every classified frame. It MUST return at once: no blocking I/O
  (a sink that writes, draws, encodes or sends does so in its own thread). `frame` is the BGR
  uint8 numpy frame that was classified; it is never modified afterwards, so a sink may keep it.
- `close(summary)`, once at the end: flush everything, stop your threads.
- `facts()` (optional) -> dict, merged into the summary before any sink is closed.
- `stop_requested` (optional attribute): set it True to ask the run to stop (a closed window).
- `needs_frames` (optional attribute or property, default True): False when `emit` will not look
  at `frame`. It may change during a run (the web page: True while a viewer is connected); it is
  asked before each frame is read. While no sink of a run needs frames, a file source queues
  prepared tensors only and `frame` may be None (also for a few frames after it turns True).

`result` keys:
    frame (int, the frame's index in the source; gaps are dropped frames), timestamp (unix
    seconds when captured), label and score (this frame's raw top-1), top_k ([[label, score],
    ...] best first, at or above the score threshold), margin (top-1 minus top-2 score, of all
    scores: small = unsure), inference_ms, fps (over the last 30
    frames), stable_label and stable_score (after temporal smoothing; stable_label is None until
    one is stable), event (None, or {"type": "label_change", "label", "previous", "score",
    "timestamp"} on the frame where the stable label changes; built by the pipeline's
    `LabelChanges`, the only place that makes one; with hot swap also {"type": "model_change",
    "previous", "sha256", "model", "labels", "load_ms", "self_test_ms", "timestamp"} on the first
    frame of a new model, or {"type": "model_rejected", "sha256", "reason", "timestamp"}, made
    by tfedge.edge.live.hot_swap), model (with hot swap, as in `tfedge run`: the short sha256 of
    the model that made this result), and stats: the run's live statistics
    {"frames", "fps", "dropped_frames", "reconnects", "uptime_s"}.

`summary` keys:
    frames, fps (over the whole run), p50_inference_ms, p95_inference_ms, mean_inference_ms,
    dropped_frames, reconnects, uptime_s, stopped_by ("end of source", "max frames", "signal",
    "output").
"""


def shown_label(result: dict) -> tuple[str | None, float | None]:
    """(label, score) a sink shows: the stable one once there is one, else the frame's own top-1.

    (None, None) for a result without a label (before the first frame).
    """
    if result.get("stable_label") is not None:
        return result["stable_label"], result["stable_score"]
    return result.get("label"), result.get("score")


def frames_needed(sinks) -> bool:
    """Whether any of `sinks` looks at the frames it is given (`needs_frames`, True when unsaid)."""
    return any(getattr(sink, "needs_frames", True) for sink in sinks)
