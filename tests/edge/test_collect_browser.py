"""The live page in real headless Chromium shows what `--collect` kept: the count and thumbnails."""

from __future__ import annotations

import pytest
from chromium_driver import CHROMIUM, Chromium
from sink_helpers import wait_until
from test_collect import picture, result, sink_for

from tfedge.edge.sinks.web import WebSink

pytestmark = [pytest.mark.real_component("chromium"),
              pytest.mark.skipif(CHROMIUM is None,
                                 reason="Chromium is not installed (apt-get install chromium)")]


def test_page_shows_the_collected_count_and_thumbnails(tmp_path):
    collect = sink_for(tmp_path / "collect")
    web = WebSink(port=0, collection=collect, log=lambda _message: None)
    browser = Chromium(tmp_path / "profile")
    try:
        for index in range(3):
            collect.emit(result(index), picture(index))
        browser.call("Page.navigate", url=f"http://127.0.0.1:{web.port}/")
        wait_until(lambda: browser.evaluate("document.getElementById('collected-count').textContent")
                   == "3", "the page to count 3 collected frames")
        wait_until(lambda: browser.evaluate(
            "[...document.querySelectorAll('#collected-latest img')].filter(i => i.naturalWidth === 16)"
            ".length") == 3, "3 thumbnails (the model's 16x16 views)")
        assert browser.evaluate("document.getElementById('collected').hidden") is False
    finally:
        browser.close()
        collect.close({})
        web.close({})
