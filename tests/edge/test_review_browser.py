"""`tfedge review` in a real headless Chromium: keyboard labelling, undo, a reload and a restart
mid-way, a new class, a click; then the OUT folder and the log. Screenshots:
test-artifacts/review_page.png and review_page_phone.png."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time

import pytest
from chromium_driver import ARTIFACTS, CHROMIUM, Chromium
from review_helpers import make_collection
from sink_helpers import wait_until

from tfedge.edge.collection import frame_path

pytestmark = [pytest.mark.real_component("chromium"),
              pytest.mark.skipif(CHROMIUM is None,
                                 reason="Chromium is not installed (apt-get install chromium)")]


class Review:
    """`tfedge review` as a user starts it, on a free port; its URL read from what it prints."""

    def __init__(self, collect, out, reviewer: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tfedge", "review", str(collect), "--out", str(out),
             "--serve", "0", "--reviewer", reviewer], stderr=subprocess.PIPE, text=True)
        self.lines = []
        while not self.lines or "open http" not in self.lines[-1]:
            line = self.process.stderr.readline()
            assert line, f"tfedge review ended early: {self.lines}"
            self.lines.append(line.strip())
        self.url = re.search(r"open (http://\S+/)", self.lines[-1]).group(1)

    def stop(self, sig: int) -> tuple[int, str]:
        self.process.send_signal(sig)
        rest = self.process.stderr.read()
        self.process.stderr.close()
        return self.process.wait(30), rest

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)
        self.process.stderr.close()


@pytest.fixture
def start_review():
    """Starts `tfedge review` processes; kills any still running at the end (a failed test)."""
    started = []

    def start(collect, out, reviewer):
        started.append(Review(collect, out, reviewer))
        return started[-1]

    yield start
    for review in started:
        review.kill()


@pytest.fixture
def chromium(tmp_path):
    browser = Chromium(tmp_path / "profile")
    yield browser
    browser.close()


def shown(browser) -> str:
    return browser.evaluate("document.body.dataset.current")


def decide(browser, key: str, then: str) -> None:
    browser.press(key)
    wait_until(lambda: shown(browser) == then, f"frame {then!r} after pressing {key!r}")


def test_label_a_batch_by_keyboard_with_undo_reload_and_restart(chromium, start_review, tmp_path):
    frames = make_collection(tmp_path / "collect", count=7)
    damaged = frame_path(tmp_path / "collect", frames[0].id)
    damaged.write_bytes(damaged.read_bytes()[:100])
    order = [f.id for f in reversed(frames[1:])]  # most informative first
    out = tmp_path / "out"

    first = start_review(tmp_path / "collect", out, "ann")
    assert any("skipped damaged" in line and frames[0].id in line for line in first.lines)
    chromium.call("Page.navigate", url=first.url)
    wait_until(lambda: shown(chromium) == order[0], "the most informative frame")
    assert "1 damaged" in chromium.evaluate("document.querySelector('#damaged summary').textContent")
    guess = frames[5].label  # the model's label of order[1]
    decide(chromium, "2", order[1])  # key 2: the model's second class
    decide(chromium, "Enter", order[2])  # accept the model's guess
    decide(chromium, " ", order[3])  # skip
    decide(chromium, "Backspace", order[2])  # undo the skip
    decide(chromium, "-", order[3])  # none of these

    chromium.call("Page.reload")  # mid-way: nothing is lost
    wait_until(lambda: shown(chromium) == order[3], "the same frame after a reload")
    assert "3 decided" in chromium.evaluate("document.getElementById('progress').textContent")
    wait_until(lambda: chromium.evaluate("document.getElementById('frame').naturalWidth") == 48,
               "the frame's image")
    chromium.screenshot(ARTIFACTS / "review_page.png")
    chromium.call("Emulation.setDeviceMetricsOverride", width=390, height=844,
                  deviceScaleFactor=2, mobile=True)
    wait_until(lambda: chromium.evaluate("document.documentElement.scrollWidth <= innerWidth"),
               "the page to fit a phone's width without sideways scrolling")
    chromium.screenshot(ARTIFACTS / "review_page_phone.png")
    chromium.call("Emulation.clearDeviceMetricsOverride")
    chromium.press("+")  # type a new class
    wait_until(lambda: chromium.evaluate("document.activeElement.id") == "new-class", "the input")
    chromium.call("Input.insertText", text="Sandal")
    decide(chromium, "Enter", order[4])
    assert "Sandal" in chromium.evaluate("document.getElementById('new-note').textContent")
    assert "next training" in chromium.evaluate("document.getElementById('new-note').textContent")
    code, rest = first.stop(signal.SIGINT)
    assert code == 130 and "3 labelled" in rest and "2 of 6 left" in rest

    second = start_review(tmp_path / "collect", out, "bob")  # a restarted review resumes
    chromium.call("Page.navigate", url=second.url)
    wait_until(lambda: shown(chromium) == order[4], "the frame where the first review stopped")
    assert chromium.evaluate("document.querySelector('[data-label=Sandal] kbd').textContent") == "4"
    chromium.click("[data-label=Pullover]")
    wait_until(lambda: shown(chromium) == order[5], "the next frame after a click")
    decide(chromium, "Backspace", order[4])  # undo works across the restart, and after a click
    chromium.click("[data-label=Pullover]")
    wait_until(lambda: shown(chromium) == order[5], "the next frame after a second click")
    decide(chromium, "4", "")  # the new class has its own key now
    assert chromium.evaluate("document.getElementById('done').hidden") is False
    code, rest = second.stop(signal.SIGTERM)
    assert code == 0 and "5 labelled" in rest and "0 of 6 left" in rest

    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.jpg")) == sorted([
        f"Trouser/{order[0]}.jpg", f"{guess}/{order[1]}.jpg", f"Sandal/{order[3]}.jpg",
        f"Pullover/{order[4]}.jpg", f"Sandal/{order[5]}.jpg"])
    log = [json.loads(line) for line in (out / "decisions.jsonl").read_text().splitlines()]
    assert [(e["reviewer"], e["id"], e["action"], e["label"]) for e in log] == [
        ("ann", order[0], "label", "Trouser"), ("ann", order[1], "label", guess),
        ("ann", order[2], "skip", None), ("ann", order[2], "undo", None),
        ("ann", order[2], "none", None), ("ann", order[3], "label", "Sandal"),
        ("bob", order[4], "label", "Pullover"), ("bob", order[4], "undo", "Pullover"),
        ("bob", order[4], "label", "Pullover"), ("bob", order[5], "label", "Sandal")]
    assert log[5]["new_class"] is True and log[0]["model_label"] == frames[6].label


def test_a_late_answer_to_an_older_request_does_not_bring_back_the_frame_before(chromium, start_review,
                                                                               tmp_path):
    """The page refreshes its state when its window gets the focus; if that answer is delivered
    after the answer to a decision made meanwhile, it holds the state from before the decision
    (seen once in CI: the page went back a frame and waited there)."""
    frames = make_collection(tmp_path / "collect", count=4)
    order = [f.id for f in reversed(frames)]
    review = start_review(tmp_path / "collect", tmp_path / "out", "ann")
    chromium.call("Page.navigate", url=review.url)
    wait_until(lambda: shown(chromium) == order[0], "the most informative frame")
    chromium.evaluate("""(() => {
        const realFetch = window.fetch;  // state answers reach the page half a second late
        window.fetch = (url, options) => (options && options.method === "POST") ? realFetch(url, options)
            : realFetch(url, options).then((r) => new Promise((done) => setTimeout(() => done(r), 500)));
        window.dispatchEvent(new Event("focus"));  // asks for the state now: answered before the key
        return true;
    })()""")
    decide(chromium, "Enter", order[1])
    time.sleep(1.0)  # the late answer has arrived by now
    assert shown(chromium) == order[1]
    assert "1 decided" in chromium.evaluate("document.getElementById('progress').textContent")
