"""A review's decisions: which frame comes next, what each key means, undo. No files here.

A decision is one line of the log (`Entry`); the state of a review is the log replayed, so a
restarted review resumes exactly where the last one stopped, undo included.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

from tfedge.edge.collection import CollectedFrame

LABEL, SKIP, NONE, UNDO = "label", "skip", "none", "undo"
DECISIONS = (LABEL, SKIP, NONE)
# one key per class, in the model's order: 1-9, 0, then letters
KEYS = "1234567890abcdefghijklmnopqrstuvwxyz"
CLASS_NAME = re.compile(r"\w[\w .-]{0,63}")


def check_class_name(name: object) -> str:
    """A class name usable as a folder name (`OUT/<class>/`), or ValueError saying what is allowed."""
    text = name.strip() if isinstance(name, str) else ""
    if not CLASS_NAME.fullmatch(text) or text.endswith("."):
        raise ValueError(f"class name {name!r} cannot be a folder name; use up to 64 letters, digits, "
                         "spaces, '_', '-' or '.', starting with a letter or digit")
    return text


@dataclass(frozen=True)
class Entry:
    """One line of the decisions log.

    Attributes:
        reviewer: who decided (the OS user or `--reviewer`).
        time: when, ISO 8601 in UTC.
        id: the collected frame's id.
        model_label: what the model said (the frame's top-1).
        action: "label", "skip", "none" (none of the classes) or "undo".
        label: the class decided ("label"), or for "undo" the class of the decision undone.
        new_class: the label is not among the model's classes (the next training adds it).
        undone: for "undo", the action it took back.
    """

    reviewer: str
    time: str
    id: str
    model_label: str
    action: str
    label: str | None = None
    new_class: bool = False
    undone: str | None = None

    def to_line(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_line(cls, line: str) -> Entry:
        data = json.loads(line)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fields {', '.join(sorted(unknown))}")
        entry = cls(**data)
        if entry.action not in (*DECISIONS, UNDO):
            raise ValueError(f"unknown action {entry.action!r}")
        if not all(isinstance(v, str) for v in (entry.reviewer, entry.time, entry.id, entry.model_label)):
            raise ValueError("reviewer, time, id and model_label must be strings")
        if entry.action == LABEL:
            check_class_name(entry.label)
        return entry


class ReviewState:
    """The frames in review order (most informative first), the decisions so far, and undo.

    Args:
        frames: the usable collected frames.
        entries: the log so far, oldest first (replayed; ValueError when it does not fit).
    """

    def __init__(self, frames: list[CollectedFrame], entries: list[Entry] = ()) -> None:
        self.order = sorted(frames, key=lambda f: (-f.informativeness, f.id))
        self.by_id = {frame.id: frame for frame in self.order}
        self.model_labels: list[str] = []
        for frame in sorted(frames, key=lambda f: f.id):
            self.model_labels += [name for name in frame.labels if name not in self.model_labels]
        self.new_classes: list[str] = []
        self.decided: dict[str, Entry] = {}  # frame id -> its decision in force
        self.stack: list[Entry] = []  # decisions in force, latest last: what undo takes back
        self.undone: list[str] = []  # ids taken back and not decided again, latest last
        for number, entry in enumerate(entries, 1):
            try:
                self.apply(entry)
            except ValueError as error:
                raise ValueError(f"entry {number}: {error}") from None

    @property
    def classes(self) -> list[str]:
        return self.model_labels + self.new_classes

    def keys(self) -> dict[str, str]:
        """Class name -> its key (classes beyond the 36th have none: click them)."""
        return dict(zip(self.classes, KEYS))

    def current(self) -> CollectedFrame | None:
        """The frame to decide now: the last one taken back by undo, else the first undecided."""
        for frame_id in reversed(self.undone):
            if frame_id in self.by_id and frame_id not in self.decided:
                return self.by_id[frame_id]
        return next((f for f in self.order if f.id not in self.decided), None)

    def upcoming(self) -> CollectedFrame | None:
        """The frame after the current one (for the page to load ahead)."""
        current = self.current()
        return next((f for f in self.order if f.id not in self.decided and f is not current), None)

    def remaining(self) -> int:
        return sum(1 for frame in self.order if frame.id not in self.decided)

    def decision(self, frame_id: str, action: str, label: str | None, reviewer: str,
                 time: str) -> Entry:
        """A new decision on the current frame, checked (ValueError) but not yet applied."""
        current = self.current()
        if current is None:
            raise ValueError("every frame is decided already")
        if frame_id != current.id:
            raise ValueError(f"frame {frame_id} is not the one to decide now (decided on another "
                             f"page?); the frame to decide is {current.id}")
        if action not in DECISIONS:
            raise ValueError(f"unknown decision {action!r}; use one of {', '.join(DECISIONS)}")
        if action == LABEL:
            label = check_class_name(label)
        else:
            label = None
        return Entry(reviewer=reviewer, time=time, id=frame_id, model_label=current.label,
                     action=action, label=label,
                     new_class=label is not None and label not in self.model_labels)

    def undo_entry(self, reviewer: str, time: str) -> Entry:
        """The log entry that takes back the latest decision in force (ValueError when none)."""
        if not self.stack:
            raise ValueError("nothing to undo")
        last = self.stack[-1]
        return Entry(reviewer=reviewer, time=time, id=last.id, model_label=last.model_label,
                     action=UNDO, label=last.label, new_class=last.new_class, undone=last.action)

    def apply(self, entry: Entry) -> None:
        if entry.action == UNDO:
            if not self.stack or self.stack[-1].id != entry.id:
                raise ValueError(f"undo of {entry.id} does not take back the latest decision")
            self.stack.pop()
            del self.decided[entry.id]
            self.undone.append(entry.id)
            return
        if entry.id in self.decided:
            raise ValueError(f"frame {entry.id} is decided twice without an undo between")
        self.decided[entry.id] = entry
        self.stack.append(entry)
        if entry.id in self.undone:
            self.undone.remove(entry.id)
        if entry.action == LABEL and entry.label not in self.classes:
            self.new_classes.append(entry.label)

    def counts(self) -> tuple[dict[str, int], dict[str, int]]:
        """Among the decisions in force: frames per class, and frames per action."""
        per_class = dict.fromkeys(self.classes, 0)
        per_action = dict.fromkeys(DECISIONS, 0)
        for entry in self.decided.values():
            per_action[entry.action] += 1
            if entry.action == LABEL:
                per_class[entry.label] += 1
        return per_class, per_action
