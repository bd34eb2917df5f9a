"""A review with real files: OUT in the training format, the log, resume, damaged frames, bad input."""

import json
import socket

import pytest
from review_helpers import make_collection

from tfedge.edge.collection import frame_path, sidecar_path, view_path
from tfedge.edge.review.session import ReviewSession
from tfedge.edge.review.store import LOG_NAME
from tfedge.errors import DataError, OutputError
from tfedge.main import main

WHEN = "2026-01-01T00:00:00.000+00:00"


@pytest.fixture
def session():
    """Opens reviews (a fixed clock) and closes them all at the end."""
    opened = []

    def open_review(collect, out, reviewer="ann"):
        opened.append(ReviewSession(collect, out, reviewer, clock=lambda: WHEN))
        return opened[-1]

    yield open_review
    for review in opened:
        review.close()


def log_lines(out):
    return [json.loads(line) for line in (out / LOG_NAME).read_text().splitlines()]


def images(out):
    return sorted(str(p.relative_to(out)) for p in out.rglob("*.jpg"))


def test_decisions_make_the_training_folder_and_the_log(session, tmp_path):
    frames = make_collection(tmp_path / "collect", count=4)
    out = tmp_path / "out"
    review = session(tmp_path / "collect", out)
    order = [f.id for f in reversed(frames)]  # most informative first
    assert review.snapshot()["current"]["id"] == order[0]
    review.decide(order[0], "label", "Trouser")
    review.decide(order[1], "label", "Sandal")
    review.decide(order[2], "skip")
    state = review.decide(order[3], "none")
    assert state["current"] is None and state["remaining"] == 0
    assert images(out) == [f"Sandal/{order[1]}.jpg", f"Trouser/{order[0]}.jpg"]
    assert (out / "Trouser" / f"{order[0]}.jpg").read_bytes() == \
        frame_path(tmp_path / "collect", order[0]).read_bytes()  # the full frame, as collected
    assert log_lines(out) == [
        {"reviewer": "ann", "time": WHEN, "id": order[0], "model_label": frames[3].label,
         "action": "label", "label": "Trouser", "new_class": False, "undone": None},
        {"reviewer": "ann", "time": WHEN, "id": order[1], "model_label": frames[2].label,
         "action": "label", "label": "Sandal", "new_class": True, "undone": None},
        {"reviewer": "ann", "time": WHEN, "id": order[2], "model_label": frames[1].label,
         "action": "skip", "label": None, "new_class": False, "undone": None},
        {"reviewer": "ann", "time": WHEN, "id": order[3], "model_label": frames[0].label,
         "action": "none", "label": None, "new_class": False, "undone": None},
    ]
    assert "2 labelled" in review.summary() and "0 of 4 left" in review.summary()


def test_undo_removes_the_image_and_a_restart_resumes(session, tmp_path):
    frames = make_collection(tmp_path / "collect", count=3)
    out = tmp_path / "out"
    first = session(tmp_path / "collect", out, reviewer="ann")
    order = [f.id for f in reversed(frames)]
    first.decide(order[0], "label", "Pullover")
    first.decide(order[1], "label", "Trouser")
    state = first.undo()
    assert state["current"]["id"] == order[1] and images(out) == [f"Pullover/{order[0]}.jpg"]
    assert log_lines(out)[-1] | {"time": None} == {
        "reviewer": "ann", "time": None, "id": order[1], "model_label": frames[1].label,
        "action": "undo", "label": "Trouser", "new_class": False, "undone": "label"}

    with pytest.raises(OutputError, match="another tfedge review is working in"):
        session(tmp_path / "collect", out, reviewer="eve")  # one review per OUT at a time
    first.close()
    again = session(tmp_path / "collect", out, reviewer="bob")  # closed and started again
    assert again.resumed == 3 and again.repairs == []
    assert again.snapshot()["current"]["id"] == order[1]
    again.undo()  # undo reaches back across the restart
    assert again.snapshot()["current"]["id"] == order[0] and images(out) == []
    assert not (out / "Pullover").exists()  # no empty class folder: training would refuse it
    again.decide(order[0], "skip")
    assert log_lines(out)[-1]["reviewer"] == "bob"


def test_an_interrupted_step_is_repaired_from_the_log(session, tmp_path):
    frames = make_collection(tmp_path / "collect", count=2)
    out = tmp_path / "out"
    review = session(tmp_path / "collect", out)
    review.decide(frames[1].id, "label", "Trouser")
    (out / "Trouser" / f"{frames[1].id}.jpg").unlink()  # as if lost
    (out / "Pullover").mkdir()
    (out / "Pullover" / f"{frames[0].id}.jpg").write_bytes(b"placed, but never logged")
    (out / "Pullover" / "mine.jpg").write_bytes(b"not ours: kept")
    review.close()
    again = session(tmp_path / "collect", out)
    assert len(again.repairs) == 2
    assert images(out) == ["Pullover/mine.jpg", f"Trouser/{frames[1].id}.jpg"]


def test_a_failed_save_changes_nothing(session, tmp_path, monkeypatch):
    frames = make_collection(tmp_path / "collect", count=2)
    out = tmp_path / "out"
    review = session(tmp_path / "collect", out)

    def disk_full(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("tfedge.edge.review.store.append_log", disk_full)
    with pytest.raises(OSError):
        review.decide(frames[1].id, "label", "Trouser")
    assert images(out) == [] and review.snapshot()["decided"] == 0


def test_damaged_frames_are_listed_and_skipped(session, tmp_path):
    frames = make_collection(tmp_path / "collect", count=5)
    collect = tmp_path / "collect"
    data = frame_path(collect, frames[0].id).read_bytes()
    frame_path(collect, frames[0].id).write_bytes(data[: len(data) // 2])  # truncated
    view_path(collect, frames[1].id).write_bytes(b"\xff\xd8 not really a jpeg \xff\xd9")
    sidecar_path(collect, frames[2].id).write_text("{broken")
    text = json.loads(sidecar_path(collect, frames[3].id).read_text())
    sidecar_path(collect, frames[3].id).write_text(json.dumps(text | {"informativeness": "high"}))
    review = session(collect, tmp_path / "out")
    problems = review.snapshot()["problems"]
    assert review.snapshot()["total"] == 1 and len(problems) == 4
    assert any("truncated" in p and frames[0].id in p for p in problems)
    assert any("does not decode" in p and frames[1].id in p for p in problems)
    assert any("informativeness is not a number" in p for p in problems)


def run_cli(capsys, *args):
    code = main(["review", *args])
    err = capsys.readouterr().err.strip().splitlines()
    return code, err[-1] if err else ""


def test_bad_input_is_one_line_and_a_documented_code(tmp_path, capsys):
    out = str(tmp_path / "out")
    code, line = run_cli(capsys, str(tmp_path / "nope"), "--out", out, "--serve", "0")
    assert code == 3 and "is not a folder" in line and "--collect" in line
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"x")
    code, line = run_cli(capsys, str(tmp_path / "photos"), "--out", out, "--serve", "0")
    assert code == 3 and "holds no collected frames" in line
    make_collection(tmp_path / "collect", count=1)
    (tmp_path / "file").write_text("mine")
    code, line = run_cli(capsys, str(tmp_path / "collect"), "--out", str(tmp_path / "file" / "out"),
                         "--serve", "0")
    assert code == 5 and "not writable" in line
    code, line = run_cli(capsys, str(tmp_path / "collect"), "--out", str(tmp_path / "photos"),
                         "--serve", "0")
    assert code == 5 and "holds other files" in line and (tmp_path / "photos" / "cat.jpg").exists()
    code, line = run_cli(capsys, str(tmp_path / "collect"), "--out", out, "--serve", "0.0.0.0:0")
    assert code == 2 and "--token" in line
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / LOG_NAME).write_text("not json\n")
    code, line = run_cli(capsys, str(tmp_path / "collect"), "--out", out, "--serve", "0")
    assert code == 3 and "line 1 is not a review decision" in line
    assert (tmp_path / "out" / LOG_NAME).read_text() == "not json\n"


def test_all_frames_damaged_is_a_data_error(session, tmp_path):
    frames = make_collection(tmp_path / "collect", count=1)
    view_path(tmp_path / "collect", frames[0].id).write_bytes(b"GIF89a")
    with pytest.raises(DataError, match="none of the 1 collected frames .* not a JPEG"):
        session(tmp_path / "collect", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_out_that_is_a_file_is_refused(session, tmp_path):
    make_collection(tmp_path / "collect", count=1)
    (tmp_path / "out").write_text("mine")
    with pytest.raises(OutputError, match="is a file"):
        session(tmp_path / "collect", tmp_path / "out")


def test_a_port_in_use_is_an_output_error_and_frees_out(tmp_path, capsys):
    make_collection(tmp_path / "collect", count=1)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, line = run_cli(capsys, str(tmp_path / "collect"), "--out", str(tmp_path / "out"),
                             "--serve", str(port))
    assert code == 5 and "cannot serve on 127.0.0.1" in line
    ReviewSession(tmp_path / "collect", tmp_path / "out", "ann").close()  # OUT is not left locked
