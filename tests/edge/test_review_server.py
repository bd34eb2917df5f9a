"""The review page's server over real HTTP: state, decide, undo, frames, token, origin checks."""

from __future__ import annotations

import http.client
import json

import pytest
from review_helpers import make_collection

from tfedge.edge.collection import frame_path, view_path
from tfedge.edge.review.server import ReviewServer
from tfedge.edge.review.session import ReviewSession
from tfedge.errors import UsageError


@pytest.fixture
def collect(tmp_path):
    frames = make_collection(tmp_path / "collect", count=3)
    return tmp_path / "collect", [f.id for f in reversed(frames)]


def serve(tmp_path, folder, **options):
    session = ReviewSession(folder, tmp_path / "out", "ann")
    return ReviewServer(session, port=0, log=lambda _: None, **options)


def request(server, method, path, body=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    sent = {"Content-Type": "application/json"} if data is not None else {}
    connection.request(method, path, body=data, headers={**sent, **(headers or {})})
    answer = connection.getresponse()
    payload = answer.read()
    connection.close()
    kind = answer.getheader("Content-Type") or ""
    return answer.status, (json.loads(payload) if "json" in kind else payload), answer


def stop(server):
    server.close()
    server.server.session.close()


@pytest.fixture
def server(tmp_path, collect):
    running = serve(tmp_path, collect[0])
    yield running
    stop(running)


def test_page_state_frames_decide_and_undo(server, collect, tmp_path):
    folder, order = collect
    status, page, answer = request(server, "GET", "/")
    assert status == 200 and b"review.js" in page
    assert answer.getheader("Content-Security-Policy").startswith("default-src 'self'")
    for asset in ("/review.js", "/review.css"):
        assert request(server, "GET", asset)[0] == 200
    status, body, _ = request(server, "GET", "/api/state")
    assert status == 200 and body["state"]["current"]["id"] == order[0]
    assert [c["key"] for c in body["state"]["classes"]] == ["1", "2", "3"]
    status, image, _ = request(server, "GET", f"/frames/{order[0]}.jpg")
    assert status == 200 and image == frame_path(folder, order[0]).read_bytes()
    assert request(server, "GET", f"/frames/{order[0]}.view.jpg")[1] == \
        view_path(folder, order[0]).read_bytes()

    status, body, _ = request(server, "POST", "/api/decide",
                              {"id": order[0], "action": "label", "label": "Pullover"})
    assert status == 200 and body["state"]["current"]["id"] == order[1]
    assert (tmp_path / "out" / "Pullover" / f"{order[0]}.jpg").is_file()
    status, body, _ = request(server, "POST", "/api/decide", {"id": order[0], "action": "skip"})
    assert status == 409 and "not the one to decide now" in body["error"]
    assert body["state"]["current"]["id"] == order[1]  # a stale page gets the truth back
    status, body, _ = request(server, "POST", "/api/undo", {})
    assert status == 200 and body["state"]["current"]["id"] == order[0]
    assert not (tmp_path / "out" / "Pullover" / f"{order[0]}.jpg").exists()
    status, body, _ = request(server, "POST", "/api/undo", {})
    assert status == 409 and body["error"] == "nothing to undo"


def test_a_frame_pruned_from_the_collect_folder_can_be_skipped(server, collect):
    folder, order = collect
    frame_path(folder, order[0]).unlink()  # a running collector's storage cap removed it
    status, body, _ = request(server, "POST", "/api/decide",
                              {"id": order[0], "action": "label", "label": "Trouser"})
    assert status == 410 and "is gone from the collect folder" in body["error"]
    assert body["state"]["decided"] == 0
    status, body, _ = request(server, "POST", "/api/decide", {"id": order[0], "action": "skip"})
    assert status == 200 and body["state"]["skipped"] == 1


@pytest.mark.parametrize("path", ["/../collect/x.json", "/frames/../out/decisions.jsonl",
                                  "/frames/nope.jpg", "/page.js", "/frames/%2e%2e%2fx.jpg"])
def test_only_whitelisted_files_and_known_frames(server, path):
    status, body, _ = request(server, "GET", path)
    assert status == 404 and body == {"error": "not found"}


def test_posts_from_elsewhere_are_refused(server, collect):
    _, order = collect
    decide = {"id": order[0], "action": "skip"}
    status, body, _ = request(server, "POST", "/api/decide", json.dumps(decide).encode(),
                              {"Content-Type": "text/plain"})  # a form's cross-site "simple" POST
    assert status == 400 and "application/json" in body["error"]
    status, body, _ = request(server, "POST", "/api/decide", decide,
                              {"Origin": "http://evil.example"})
    assert status == 403 and "another origin" in body["error"]
    status, body, _ = request(server, "GET", "/api/state", headers={"Host": "evil.example"})
    assert status == 403  # DNS rebinding: the live view's Host rule
    status, body, _ = request(server, "POST", "/api/decide", b"[1]")
    assert status == 409 and "not a JSON object" in body["error"]
    status, body, _ = request(server, "POST", "/api/decide", b"x" * 5000)
    assert status == 400 and "too large" in body["error"]
    assert request(server, "GET", "/api/state")[1]["state"]["decided"] == 0
    status, body, _ = request(server, "POST", "/api/decide", decide,
                              {"Origin": f"http://127.0.0.1:{server.port}"})
    assert status == 200 and body["state"]["skipped"] == 1


def test_token_is_asked_on_every_request(tmp_path, collect):
    running = serve(tmp_path, collect[0], host="127.0.0.1", token="s3cret")
    try:
        assert request(running, "GET", "/api/state")[0] == 401
        assert request(running, "GET", f"/frames/{collect[1][0]}.jpg")[0] == 401
        assert request(running, "POST", "/api/undo", {})[0] == 401
        assert request(running, "GET", "/api/state?token=wrong")[0] == 401
        assert request(running, "GET", "/api/state?token=s3cret")[0] == 200
        assert request(running, "GET", "/", headers={"Authorization": "Bearer s3cret"})[0] == 200
    finally:
        stop(running)


def test_another_address_needs_a_token(tmp_path, collect):
    with ReviewSession(collect[0], tmp_path / "out", "ann") as session, \
            pytest.raises(UsageError, match="--token"):
        ReviewServer(session, host="0.0.0.0", port=0)
