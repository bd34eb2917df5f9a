"""One review: the collected frames, the OUT folder and the decisions, each saved before it counts."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path

from tfedge.edge.collection import frame_path
from tfedge.edge.review import store
from tfedge.edge.review.decisions import LABEL, Entry, ReviewState
from tfedge.edge.review.frames import load_frames
from tfedge.errors import DataError

RECENT = 8  # decisions shown on the page
PROBLEMS_SHOWN = 100  # damaged entries listed on the page (the terminal lists them all)


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class ReviewSession:
    """Decide, undo and show; thread-safe, since the web server answers each request in a thread.

    Args:
        folder: the collect folder (read only).
        out: the output folder (created; an earlier review's OUT is resumed).
        reviewer: the name written with each decision.
        clock: returns the time written with each decision (tests pass a fixed one).

    Raises DataError (folder or log unusable) or OutputError (OUT unusable).
    """

    def __init__(self, folder: str | Path, out: str | Path, reviewer: str, clock=utc_now) -> None:
        self.folder = Path(folder)
        frames, self.problems = load_frames(self.folder)
        self.out = store.open_output(out)
        self._held = store.lock_output(self.out)
        try:
            self._open(frames, reviewer, clock)
        except BaseException:
            self.close()
            raise

    def _open(self, frames, reviewer: str, clock) -> None:
        self.reviewer = reviewer
        self.clock = clock
        entries = store.read_log(self.out)
        try:
            self.state = ReviewState(frames, entries)
        except ValueError as error:
            raise DataError(f"{self.out / store.LOG_NAME} does not replay ({error}); restore the "
                            "file or choose a new --out") from None
        self.resumed = len(entries)
        known = set(self.state.by_id) | {entry.id for entry in entries}
        self.repairs = store.reconcile(self.out, self.state.decided, known,
                                       {i: frame_path(self.folder, i) for i in self.state.by_id})
        self._lock = threading.Lock()

    def close(self) -> None:
        """Let another review open OUT."""
        self._held.close()

    def __enter__(self) -> ReviewSession:
        return self

    def __exit__(self, *_) -> None:
        self.close()

    def decide(self, frame_id: str, action: str, label: str | None = None) -> dict:
        """Decide the current frame ("label" with a class, "skip" or "none"); the new snapshot.

        ValueError for a decision that does not fit (nothing changes); OSError when it cannot be
        saved (nothing changes either).
        """
        with self._lock:
            entry = self.state.decision(frame_id, action, label, self.reviewer, self.clock())
            placed = entry.action == LABEL
            if placed:
                store.place_image(self.out, entry.label, entry.id, frame_path(self.folder, entry.id))
            try:
                store.append_log(self.out, entry)
            except BaseException:
                if placed:
                    store.remove_image(self.out, entry.label, entry.id)
                raise
            self.state.apply(entry)
            return self._snapshot()

    def undo(self) -> dict:
        """Take back the latest decision in force; the new snapshot (ValueError when none)."""
        with self._lock:
            entry = self.state.undo_entry(self.reviewer, self.clock())
            store.append_log(self.out, entry)
            self.state.apply(entry)
            if entry.undone == LABEL:
                store.remove_image(self.out, entry.label, entry.id)
            return self._snapshot()

    def snapshot(self) -> dict:
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> dict:
        state = self.state
        current, upcoming = state.current(), state.upcoming()
        per_class, per_action = state.counts()
        keys = state.keys()
        return {
            "reviewer": self.reviewer,
            "folder": str(self.folder),
            "out": str(self.out),
            "classes": [{"name": name, "key": keys.get(name), "count": per_class[name],
                         "new": name not in state.model_labels} for name in state.classes],
            "current": _frame_info(current, state.order.index(current) + 1) if current else None,
            "next": upcoming.id if upcoming else None,
            "total": len(state.order),
            "remaining": state.remaining(),
            "decided": len(state.order) - state.remaining(),
            "skipped": per_action["skip"],
            "none": per_action["none"],
            "labelled": per_action[LABEL],
            "can_undo": bool(state.stack),
            "recent": [_entry_info(entry) for entry in state.stack[-RECENT:][::-1]],
            "problems": self.problems[:PROBLEMS_SHOWN],
            "problem_count": len(self.problems),
        }

    def summary(self) -> str:
        with self._lock:
            _, per_action = self.state.counts()
            return (f"{per_action[LABEL]} labelled into {self.out}, {per_action['skip']} skipped, "
                    f"{per_action['none']} none of these; {self.state.remaining()} of "
                    f"{len(self.state.order)} left; log {self.out / store.LOG_NAME}")


def _frame_info(frame, position: int) -> dict:
    return {"id": frame.id, "position": position, "label": frame.label, "score": frame.score,
            "top_k": frame.top_k, "margin": frame.margin, "reason": frame.reason,
            "stable_label": frame.stable_label, "informativeness": frame.informativeness,
            "timestamp": frame.timestamp}


def _entry_info(entry: Entry) -> dict:
    return {"id": entry.id, "action": entry.action, "label": entry.label,
            "model_label": entry.model_label, "new_class": entry.new_class}
