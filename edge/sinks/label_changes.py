"""The stable label of a result and its label-change event, for sinks that report changes.

The pipeline puts `stable_label` and `event` in each result; results without them (an older
pipeline, or a caller of our own) fall back to `label`, and changes are derived here.
"""

from __future__ import annotations


def stable_label(result: dict) -> tuple[str | None, float | None]:
    """(label, score) a sink should report: the smoothed one when the result has it."""
    if result.get("stable_label") is not None:
        return result["stable_label"], result.get("stable_score", result.get("score"))
    return result.get("label"), result.get("score")


class LabelChanges:
    """Turns a stream of results into label-change events (None when nothing changed)."""

    def __init__(self) -> None:
        self.previous: str | None = None

    def event(self, result: dict) -> dict | None:
        if "event" in result:
            return result["event"]
        label, score = stable_label(result)
        if label is None or label == self.previous:
            return None
        event = {"type": "label_change", "label": label, "previous": self.previous,
                 "score": score, "timestamp": result.get("timestamp")}
        self.previous = label
        return event
