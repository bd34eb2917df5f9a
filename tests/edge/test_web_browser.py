"""The live view in a real headless Chromium: a frame is shown and the label follows the video.

Chromium is driven over the DevTools protocol (chromium_driver.py). Screenshots are saved under
test-artifacts/.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from chromium_driver import ARTIFACTS, CHROMIUM, Chromium
from sink_helpers import PipelineThread, switching_video, wait_until

from tfedge.edge.classify import Classifier
from tfedge.edge.sinks.web import WebSink

pytestmark = [pytest.mark.real_component("chromium"),
              pytest.mark.skipif(CHROMIUM is None,
                                 reason="Chromium is not installed (apt-get install chromium)")]


@pytest.fixture
def chromium(tmp_path):
    browser = Chromium(tmp_path / "profile")
    yield browser
    browser.close()


def video_pixels(browser: Chromium, screenshot: np.ndarray) -> np.ndarray:
    box = browser.evaluate("(() => { const r = document.getElementById('video')"
                           ".getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()")
    scale = screenshot.shape[1] / browser.evaluate("window.innerWidth")
    left, top, width, height = (int(round(v * scale)) for v in box)
    return screenshot[top:top + height, left:left + width]


def test_page_shows_the_video_and_follows_the_label(chromium, tflite_models, fashion_dir, tmp_path):
    classifier = Classifier(tflite_models["float32"])
    video, starts = switching_video(classifier, fashion_dir / "test", tmp_path / "switch.mp4",
                                    segments=2, frames_per_segment=60)
    first, second = (classifier.classify(frame).label for frame in _frames_at(video, starts))
    assert first != second  # the video's content switches class halfway

    sink = WebSink(port=0, log=lambda _: None,
                   info={"model": tflite_models["float32"].name, "backend": str(classifier.backend),
                         "model_sha256": "0123456789ab" + "0" * 52})
    pipeline = PipelineThread(classifier, video, gate_frames=[starts[1], starts[1] + 50], sinks=[sink])
    try:
        chromium.call("Page.navigate", url=f"http://127.0.0.1:{sink.port}/")
        pipeline.start()
        wait_until(lambda: chromium.evaluate("document.getElementById('label').textContent") == first,
                   f"the page to show {first!r}")
        wait_until(lambda: chromium.evaluate("document.getElementById('video').naturalWidth") == 160,
                   "a video frame in the page")
        assert chromium.evaluate("document.getElementById('model').textContent") == \
            f"{tflite_models['float32'].name} (0123456789ab)"  # the running model's short sha
        pipeline.source.gates[starts[1]].set()  # the video moves on to the second class
        wait_until(lambda: chromium.evaluate("document.getElementById('label').textContent") == second,
                   f"the page to change to {second!r}")
        wait_until(lambda: pipeline.source.reached[starts[1] + 50].is_set(), "the second half to play")
        wait_until(lambda: f"{first} → {second}" in chromium.evaluate(
            "document.getElementById('events').textContent"), "the label change in the event list")

        shot = chromium.screenshot(ARTIFACTS / "web_live_view.png")
        pixels = video_pixels(chromium, shot)
        assert pixels.size and float(pixels.std()) > 20  # an image, not a blank box

        chromium.call("Emulation.setDeviceMetricsOverride", width=390, height=844,
                      deviceScaleFactor=2, mobile=True)
        wait_until(lambda: chromium.evaluate("document.documentElement.scrollWidth <= innerWidth"),
                   "the page to fit a phone's width without sideways scrolling")
        phone = chromium.screenshot(ARTIFACTS / "web_live_view_phone.png")
        assert float(video_pixels(chromium, phone).std()) > 20
    finally:
        if pipeline.is_alive():
            summary = pipeline.finish()  # the pipeline closes the sink
        else:
            sink.close({})
    assert summary["frames"] == 120


def _frames_at(video: Path, indices: list[int]) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(video))
    frames = []
    for index in range(max(indices) + 1):
        ok, frame = capture.read()
        assert ok
        if index in indices:
            frames.append(frame)
    capture.release()
    return frames
