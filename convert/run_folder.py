"""Reading a training run folder (runs/NAME) for conversion: SavedModel, card, data split."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tfedge.edge.card import ModelCard, load_card
from tfedge.errors import ModelError
from tfedge.run_layout import CARD_FILE, KERAS_MODEL, METRICS_FILE, SAVED_MODEL, SPLIT_FILE


@dataclass
class RunFolder:
    path: Path
    card: ModelCard
    split: dict

    @property
    def saved_model(self) -> Path:
        return self.path / SAVED_MODEL

    @property
    def keras_model(self) -> Path:
        return self.path / KERAS_MODEL

    @property
    def learning_warning(self) -> str | None:
        """The warning training recorded in metrics.json when the model learned nothing (or None)."""
        try:
            return json.loads((self.path / METRICS_FILE).read_text()).get("warning")
        except (OSError, ValueError, AttributeError):
            return None

    def items(self, part: str) -> list[tuple[Path, int]]:
        """Labelled image paths of the run's "train" or "val" part."""
        root = Path(self.split["root"])
        return [(root / rel, int(label)) for rel, label in self.split.get(part, [])]


def open_run(path: str | Path) -> RunFolder:
    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: no such run folder; give the folder `tfedge train --out` wrote")
    if not (path / SAVED_MODEL / "saved_model.pb").exists() or not (path / CARD_FILE).exists():
        raise ModelError(f"{path}: not a tfedge run folder (needs {SAVED_MODEL}/ and {CARD_FILE}); "
                         "give the folder `tfedge train --out` wrote")
    try:
        card = load_card(path / CARD_FILE)
        split = json.loads((path / SPLIT_FILE).read_text()) if (path / SPLIT_FILE).exists() else {}
    except (ValueError, OSError) as error:
        raise ModelError(f"{path}: damaged run folder ({error})") from None
    return RunFolder(path, card, split)
