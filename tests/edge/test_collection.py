"""The collect folder's format: written and read back; damaged entries are listed, not fatal."""

import pytest

from tfedge.edge.collection import CollectedFrame, frame_files, read_collection


def make(frame_id: str = "1700000000000-7", **changes) -> CollectedFrame:
    fields = dict(id=frame_id, timestamp=1700000000.0, frame=7, label="cat", score=0.51,
                  top_k=[["cat", 0.51], ["dog", 0.49]], margin=0.02, stable_label="dog",
                  model_sha256="ab" * 32, labels=["cat", "dog"], reason="low_margin",
                  informativeness=0.98)
    fields.update(changes)
    return CollectedFrame(**fields)


def write(folder, item: CollectedFrame) -> None:
    full, view, sidecar = frame_files(folder, item.id)
    full.write_bytes(b"\xff\xd8jpeg")
    view.write_bytes(b"\xff\xd8jpeg")
    sidecar.write_text(item.to_json())


def test_round_trip_oldest_first(tmp_path):
    write(tmp_path, make("1700000000500-9", frame=9))
    write(tmp_path, make())
    frames, problems = read_collection(tmp_path)
    assert problems == []
    assert [f.id for f in frames] == ["1700000000000-7", "1700000000500-9"]
    assert frames[0] == make()


def test_damaged_entries_are_listed_and_skipped(tmp_path):
    write(tmp_path, make())
    (tmp_path / "broken.json").write_text("{not json")
    write(tmp_path, make("1700000000001-8"))
    (tmp_path / "1700000000001-8.view.jpg").unlink()
    (tmp_path / "old.json").write_text('{"format": 0}')
    frames, problems = read_collection(tmp_path)
    assert [f.id for f in frames] == ["1700000000000-7"]
    assert len(problems) == 3
    assert any("missing or empty 1700000000001-8.view.jpg" in p for p in problems)


def test_unknown_reason_is_refused():
    with pytest.raises(ValueError, match="unknown collect reason"):
        make(reason="because")
