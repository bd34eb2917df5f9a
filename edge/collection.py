"""The collect folder: frames worth labelling, as `tfedge run --collect DIR` keeps them.

The ONLY place that knows its format. One frame is three files with the same id:

    DIR/<id>.jpg         the full frame as captured (JPEG)
    DIR/<id>.view.jpg    the model's view: the image at the model's input size, as classified (JPEG)
    DIR/<id>.json        the sidecar: a `CollectedFrame` as JSON (format 1)

Ids sort by time (`<unix ms>-<frame index>`). The JPEGs are written first and the sidecar last,
each atomically, so a sidecar always names JPEGs that exist; a reader lists what it cannot read
and goes on.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

FORMAT = 1
REASONS = ("low_margin", "disagreement", "label_change", "audit")


@dataclass(frozen=True)
class CollectedFrame:
    """One kept frame and why it was kept.

    Attributes:
        id: the files' common name, `<unix ms>-<frame index>` (sorts by time).
        timestamp: unix seconds when the frame was captured.
        frame: the frame's index in the source.
        label, score: the frame's own top-1.
        top_k: [[label, score], ...] best first.
        margin: top-1 score minus top-2 score (0..1; small = unsure).
        stable_label: the smoothed label at that moment (None before one is stable).
        model_sha256: the model that classified it.
        labels: that model's class names, index i is output i.
        reason: one of REASONS.
        informativeness: higher is worth a person's look sooner (review shows highest first).
    """

    id: str
    timestamp: float
    frame: int
    label: str
    score: float
    top_k: list
    margin: float
    stable_label: str | None
    model_sha256: str
    labels: list
    reason: str
    informativeness: float
    format: int = field(default=FORMAT)

    def __post_init__(self) -> None:
        if self.reason not in REASONS:
            raise ValueError(f"unknown collect reason {self.reason!r}; expected one of {REASONS}")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> CollectedFrame:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("sidecar is not a JSON object")
        if data.get("format") != FORMAT:
            raise ValueError(f"sidecar format {data.get('format')!r}, expected {FORMAT}")
        names = set(cls.__dataclass_fields__)
        missing = names - set(data) - {"format"}
        if missing:
            raise ValueError(f"sidecar lacks {', '.join(sorted(missing))}")
        return cls(**{key: data[key] for key in names if key in data})


def frame_path(folder: Path, frame_id: str) -> Path:
    return Path(folder) / f"{frame_id}.jpg"


def view_path(folder: Path, frame_id: str) -> Path:
    return Path(folder) / f"{frame_id}.view.jpg"


def sidecar_path(folder: Path, frame_id: str) -> Path:
    return Path(folder) / f"{frame_id}.json"


def frame_files(folder: Path, frame_id: str) -> list[Path]:
    """All files of one kept frame (sidecar last: delete in this order)."""
    return [frame_path(folder, frame_id), view_path(folder, frame_id), sidecar_path(folder, frame_id)]


def read_collection(folder: str | Path) -> tuple[list[CollectedFrame], list[str]]:
    """The frames in `folder`, oldest first, and one line per sidecar or JPEG that cannot be used."""
    folder = Path(folder)
    frames: list[CollectedFrame] = []
    problems: list[str] = []
    for sidecar in sorted(folder.glob("*.json")):
        try:
            item = CollectedFrame.from_json(sidecar.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, TypeError) as error:
            problems.append(f"{sidecar.name}: {error}")
            continue
        if sidecar.stem != item.id:
            problems.append(f"{sidecar.name}: names id {item.id!r}")
            continue
        lacking = [p.name for p in (frame_path(folder, item.id), view_path(folder, item.id))
                   if not p.is_file() or p.stat().st_size == 0]
        if lacking:
            problems.append(f"{sidecar.name}: missing or empty {', '.join(lacking)}")
            continue
        frames.append(item)
    return frames, problems
