"""The review's decisions as plain logic: order, keys, decide, undo, new classes, replay."""

import pytest
from review_helpers import LABELS, collected

from tfedge.edge.review.decisions import Entry, ReviewState, check_class_name

WHEN = "2026-01-01T00:00:00.000+00:00"


def frames(count=4):
    return [collected(i, informativeness=[0.2, 0.9, 0.5, 0.9][i % 4]) for i in range(count)]


def decide(state, action, label=None):
    entry = state.decision(state.current().id, action, label, "ann", WHEN)
    state.apply(entry)
    return entry


def test_most_informative_first_ties_by_id():
    state = ReviewState(frames())
    assert [f.frame for f in state.order] == [1, 3, 2, 0]
    assert state.current().frame == 1 and state.upcoming().frame == 3


def test_keys_are_digits_then_letters_in_the_model_s_order():
    many = [f"c{i}" for i in range(40)]
    state = ReviewState([collected(0, 0.5, label="c0", labels=many)])
    keys = state.keys()
    assert [keys[f"c{i}"] for i in (0, 8, 9, 10, 35)] == ["1", "9", "0", "a", "z"]
    assert "c36" not in keys and state.classes == many


def test_decisions_move_on_and_undo_takes_back_the_latest():
    state = ReviewState(frames())
    decide(state, "label", "Trouser")
    decide(state, "skip")
    assert state.current().frame == 2 and state.remaining() == 2
    undo = state.undo_entry("ann", WHEN)
    assert (undo.action, undo.undone, undo.id) == ("undo", "skip", state.by_id[undo.id].id)
    state.apply(undo)
    assert state.current().frame == 3  # the frame taken back comes again
    decide(state, "none")
    state.apply(state.undo_entry("ann", WHEN))
    state.apply(state.undo_entry("ann", WHEN))
    assert state.current().frame == 1 and state.remaining() == 4
    with pytest.raises(ValueError, match="nothing to undo"):
        state.undo_entry("ann", WHEN)


def test_a_stale_or_bad_decision_is_refused():
    state = ReviewState(frames())
    with pytest.raises(ValueError, match="not the one to decide now"):
        state.decision(state.order[1].id, "skip", None, "ann", WHEN)
    with pytest.raises(ValueError, match="unknown decision"):
        state.decision(state.current().id, "maybe", None, "ann", WHEN)
    with pytest.raises(ValueError, match="cannot be a folder name"):
        state.decision(state.current().id, "label", "../etc", "ann", WHEN)
    for _ in range(4):
        decide(state, "skip")
    assert state.current() is None
    with pytest.raises(ValueError, match="every frame is decided"):
        state.decision("x", "skip", None, "ann", WHEN)


def test_a_new_class_is_marked_and_gets_the_next_key():
    state = ReviewState(frames())
    entry = decide(state, "label", "  Sandal ")
    assert entry.label == "Sandal" and entry.new_class and entry.model_label == "T-shirt"
    assert state.classes == [*LABELS, "Sandal"] and state.keys()["Sandal"] == "4"
    assert not decide(state, "label", "Trouser").new_class
    per_class, per_action = state.counts()
    assert per_class == {"T-shirt": 0, "Trouser": 1, "Pullover": 0, "Sandal": 1}
    assert per_action == {"label": 2, "skip": 0, "none": 0}


def test_replaying_the_log_resumes_exactly():
    state = ReviewState(frames())
    log = [decide(state, "label", "Sandal"), decide(state, "skip")]
    log.append(state.undo_entry("ann", WHEN))
    state.apply(log[-1])
    replayed = ReviewState(frames(), [Entry.from_line(e.to_line()) for e in log])
    assert replayed.decided == state.decided and replayed.current() == state.current()
    assert replayed.classes == state.classes


def test_a_log_that_does_not_fit_is_refused():
    state = ReviewState(frames())
    first = decide(state, "skip")
    with pytest.raises(ValueError, match="entry 2: .* decided twice"):
        ReviewState(frames(), [first, first])
    with pytest.raises(ValueError, match="entry 1: undo"):
        ReviewState(frames(), [Entry("ann", WHEN, first.id, "T-shirt", "undo")])
    for line, problem in [('["x"]', "not a JSON object"), ('{"who": 1}', "unknown fields who"),
                          ('{"reviewer": "a", "time": "t", "id": "i", "model_label": "m", '
                           '"action": "keep"}', "unknown action")]:
        with pytest.raises(ValueError, match=problem):
            Entry.from_line(line)


@pytest.mark.parametrize("name", ["", " ", ".hidden", "a/b", "a\\b", "x" * 65, "end.", "..", None, 3])
def test_class_names_that_cannot_be_folders(name):
    with pytest.raises(ValueError):
        check_class_name(name)


def test_class_names_that_can():
    assert [check_class_name(n) for n in ["Sandal", "ankle boot", "t-shirt_2", "Ärmel", "v1.2"]] == \
        ["Sandal", "ankle boot", "t-shirt_2", "Ärmel", "v1.2"]
