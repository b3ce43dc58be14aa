"""A first recording plays: the demo producer records the town hall from its card on the Live
page, watches the time tick, stops it there, opens the job and plays the MP4 the sandbox wrote
into S3 (moto); records HLS from the Launch page and plays it with hls.js; the demo support
user downloads the MP4 through its signed link.

Nothing here is put into the store by the test: the sandbox uploads the objects with the
request's own credentials when each egress ends, as egress does. moto cannot check presigned
URLs (tests/storage/test_objects.py checks their signatures), so its IAM check is off here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from egress_app import actions
from tests.browser.test_job_outputs import PLAYING
from tests.browser.test_journeys import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def moto_default(demo_users: list[User], s3_storage: dict[str, Any]) -> None:
    admin = next(user for user in demo_users if user.username == "admin")
    config, secrets = s3_storage["config"], s3_storage["secrets"]
    actions.create_storage_profile(
        admin, name="Moto S3", provider="s3", config=config, secrets=secrets, is_default=True
    )


def wait_playing(page: Page, selector: str) -> float:
    video = page.locator(selector)
    expect(video).to_be_visible()
    page.wait_for_function(f"() => ({PLAYING})(document.querySelector({selector!r}))")
    return float(video.evaluate("(video) => video.duration"))


def record_from_card(page: Page) -> str:
    """Record town-hall from its card, see the time tick, stop it there: the job's path."""
    page.goto("/")
    card = page.locator('[data-room="town-hall"]')
    card.get_by_role("link", name="Record town-hall").click()
    page.locator("#live-dialog").get_by_role("button", name="Start recording").click()
    running = card.locator(".card-egress")
    expect(running.locator(".badge")).to_have_text("active")
    elapsed = running.locator(".elapsed")
    expect(elapsed).not_to_have_text(elapsed.text_content() or "")  # it ticks
    job = running.locator("a[href^='/jobs/']").first.get_attribute("href")
    assert job
    page.once("dialog", lambda confirm: confirm.accept())
    running.get_by_role("button", name="Stop").click()
    expect(card.locator(".card-egress")).to_have_count(0)
    return job


def record_hls(page: Page) -> None:
    """Record town-hall as HLS from the Launch page and stop it from its job page."""
    page.goto("/launch/")
    page.get_by_role("combobox", name="Room", exact=True).select_option("town-hall")
    page.get_by_label("Room composite (the whole room, laid out)").check()
    page.get_by_label("Record to a file").uncheck()
    page.get_by_label("HLS segments").check()
    page.get_by_role("button", name="Start").click()
    expect(page.locator("#job-live [data-status]")).to_have_text("Active")
    page.get_by_role("link", name="Stop this egress").click()
    page.get_by_role("button", name="Stop the egress").click()
    expect(page.locator("#job-live [data-status]")).to_have_text("Complete")


def test_it_records_from_the_card_then_plays_and_downloads_what_was_made(
    moto_default: None, moto_open: None, page: Page, new_page: Any, sandbox: Any
) -> None:
    log_in(page, "producer", "producer-demo-pass")
    job = record_from_card(page)

    page.goto(job)
    expect(page.locator("#job-live [data-status]")).to_have_text("Complete")
    page.locator(".output-file video").evaluate("(video) => { video.muted = true; video.load(); }")
    assert wait_playing(page, ".output-file video") > 0

    record_hls(page)
    hls = page.locator(".output-segments video")
    expect(hls).to_have_attribute("data-attached", "yes")
    assert wait_playing(page, ".output-segments video") > 0

    support = new_page()
    log_in(support, "support", "support-demo-pass")
    support.goto(job)
    with support.expect_download() as download:
        support.get_by_role("link", name="Download").first.click()
    assert download.value.suggested_filename.endswith(".mp4")
    assert Path(download.value.path()).read_bytes()[4:8] == b"ftyp"
