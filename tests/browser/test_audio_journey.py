"""The demo producer listens to the podcast room (issue 14, section 6): Listen on the Live page,
two taps connect and their meters and the mix's move, Stop (confirmed), and the taps' jobs end
COMPLETE.

The sandbox's track egress dial the dashboard the browser uses (AUDIO_INGEST_URL points at the
test server, as tests/audio_sessions/conftest.py does for its own server).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from pytest_django.fixtures import Settings

from tests.audio_sessions.conftest import mixer_running
from tests.browser.conftest import AsgiServer
from tests.browser.test_journeys import log_in

pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/audio.png"
# Both meters above the floor (-96 dBFS): audio reached the endpoint and was measured.
METERS_MOVE = """() => [...document.querySelectorAll(".taps meter")]
    .filter((meter) => meter.value > -96).length === 2"""

# The mix of both taps above the floor, pushed by whichever process mixes the session.
MIX_MOVES = """() => {
    const mix = document.querySelector("#session-mix-level meter");
    return mix !== null && mix.value > -96;
}"""

FITS = """() => [...document.querySelectorAll("main *")]
    .filter((el) => !el.closest(".audio-scroll") || el.matches(".audio-scroll"))
    .every((el) => el.getBoundingClientRect().right <= window.innerWidth + 1)"""

# On a phone each tap is a card: its meter is in view without scrolling the table sideways.
METERS_IN_VIEW = """() => [...document.querySelectorAll(".taps meter")]
    .every((meter) => meter.getBoundingClientRect().right <= window.innerWidth)"""


def test_it_lets_the_producer_listen_to_a_room_and_stop(
    page: Page, asgi_server: AsgiServer, settings: Settings
):
    settings.AUDIO_INGEST_URL = asgi_server.url.replace("http", "ws", 1)
    log_in(page, "producer", "producer-demo-pass")

    podcast = page.locator('article.room[data-room="podcast"]')
    podcast.get_by_role("button", name="Listen").click()

    expect(page).to_have_url(re.compile(r"/audio/\d+/$"))
    expect(page.get_by_role("heading", name="Listening to podcast")).to_be_visible()
    rows = page.locator(".taps tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator('.taps tr[data-state="connected"]')).to_have_count(2)
    page.wait_for_function(METERS_MOVE, timeout=15_000)
    with mixer_running():
        page.wait_for_function(MIX_MOVES, timeout=15_000)
    expect(page.locator("#session-mix-level")).to_contain_text("2 taps")
    expect(page.locator(".taps .dbfs").first).to_contain_text("dBFS RMS")
    page.set_viewport_size({"width": 390, "height": 800})
    # The taps' table scrolls inside its own box; nothing of the session's content overflows.
    assert page.evaluate(FITS), "the session page is wider than a 390 px phone"
    assert page.evaluate(METERS_IN_VIEW), "a tap's meter is out of view on a 390 px phone"
    page.screenshot(path=SCREENSHOT, full_page=True)
    jobs = [link.get_attribute("href") for link in rows.locator('a[href^="/jobs/"]').all()]
    assert len(jobs) == 2

    page.get_by_role("link", name="Stop").click()
    expect(page.get_by_role("heading", name="Stop listening to podcast?")).to_be_visible()
    page.get_by_role("button", name="Stop listening").click()

    expect(page.locator("[data-session-state]")).to_have_text("Ended")
    page.goto("/jobs/")
    for href in jobs:
        assert href is not None
        job = href.strip("/").rpartition("/")[2]
        expect(page.locator(f"#job-{job} .badge").first).to_have_text("Complete", timeout=15_000)
