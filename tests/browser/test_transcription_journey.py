"""The demo producer transcribes the podcast room (issue 15, Proof): Transcribe on the room's
card opens the session page, where captions of the sandbox's sentences appear live, each line
naming its speaker, in a polite live region; Stop ends the transcription. The producer opens
the transcript and downloads its SRT; the demo support user finds it by a word from it."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import srt
from playwright.sync_api import Page, expect
from pytest_django.fixtures import Settings

from tests.audio_sessions.conftest import mixer_running
from tests.browser.conftest import AsgiServer
from tests.browser.test_journeys import log_in

pytestmark = pytest.mark.browser

PARTIAL_LINES = """() => [...document.querySelectorAll("#captions-list li.partial")]
    .map((li) => li.dataset.line)"""
HEARD = 60_000  # ms at most: the engine's worker starts, then the first pause ends a sentence


def test_it_shows_live_captions_with_each_speakers_name(
    new_page: Callable[[], Page], asgi_server: AsgiServer, settings: Settings
):
    settings.AUDIO_INGEST_URL = asgi_server.url.replace("http", "ws", 1)
    page = new_page()
    with mixer_running():  # with Redis an audio worker mixes and transcribes, not the server
        transcribe_and_stop(page)

    word = download_the_srt(page)

    support = new_page()
    log_in(support, "support", "support-demo-pass")
    support.goto(f"/transcripts/?words={word}")
    match = support.locator("main li, main tr").filter(has_text=re.compile(word, re.I)).first
    expect(match).to_be_visible()
    match.get_by_role("link").first.click()
    expect(support).to_have_url(re.compile(r"/transcripts/\d+/"))


def download_the_srt(page: Page) -> str:
    """The producer opens the transcript from the session page and downloads its SRT: a word
    from it, for the search."""
    page.get_by_role("link", name="Read or download the transcript").click()
    expect(page).to_have_url(re.compile(r"/transcripts/\d+/"))
    with page.expect_download() as download:
        page.locator(".download-links").get_by_role("link", name="SRT").click()
    subtitles = list(srt.parse(Path(download.value.path()).read_text()))
    assert [s.start for s in subtitles] == sorted(s.start for s in subtitles)
    said = " ".join(subtitle.content for subtitle in subtitles)
    assert "Dana Host:" in said
    assert "Eli Guest:" in said
    return max(re.findall(r"[a-z]{5,}", said.split(":", 1)[1].lower()), key=len)


def transcribe_and_stop(page: Page) -> None:
    log_in(page, "producer", "producer-demo-pass")

    podcast = page.locator('article.room[data-room="podcast"]')
    podcast.get_by_role("button", name="Transcribe").click()

    expect(page).to_have_url(re.compile(r"/audio/\d+/$"))
    captions = page.locator("#captions-list")
    expect(captions).to_have_attribute("aria-live", "polite")
    for name in ("Dana Host", "Eli Guest"):
        line = captions.locator("li.final", has=page.locator(".speaker", has_text=name))
        expect(line.first).to_be_visible(timeout=HEARD)
        expect(line.first.locator("time")).to_have_text(re.compile(r"\d\d:\d\d:\d\d .+"))
    # A partial line is replaced in place: never two grey lines for one speaker.
    lines = page.evaluate(PARTIAL_LINES)
    assert len(lines) == len(set(lines)), lines
    expect(page.locator("#transcription-state")).to_have_text("live")

    page.get_by_role("link", name="Stop").click()
    page.get_by_role("button", name="Stop listening").click()
    expect(page.locator("[data-session-state]")).to_have_text("Ended")
