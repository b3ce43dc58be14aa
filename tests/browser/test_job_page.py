"""A job's page as it changes: its duration ticks while the egress runs, and when the egress
ends its header (Retry) and the flash above it follow without a reload."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect

from egress_app.models import EgressJob, EgressStatus
from egress_app.sandbox.testing import RunningSandbox
from tests.browser.every_page import log_in_as
from tests.browser.test_live_journey import launch_stream

pytestmark = pytest.mark.browser


@pytest.fixture
def running_job(demo_users: list[User]) -> EgressJob:
    producer = next(user for user in demo_users if user.username == "producer")
    started = timezone.now() - timedelta(minutes=7)
    return EgressJob.objects.create(
        egress_id="EG_tickingJob01",
        kind="room_composite",
        room_name="town-hall",
        status=EgressStatus.ACTIVE,
        started_by=producer,
        config={"outputs": {"file": {"filepath": "rec/{room_name}.mp4"}}},
        started_at=started,
        updated_at=started + timedelta(seconds=1),
    )


def seconds(clock: str) -> int:
    hours, minutes, secs = (int(part) for part in clock.split(":"))
    return hours * 3600 + minutes * 60 + secs


def test_it_ticks_a_running_jobs_duration(running_job: EgressJob, page: Page) -> None:
    log_in_as(page, "producer")
    page.goto(f"/jobs/{running_job.pk}/")
    elapsed = page.locator(".elapsed")
    expect(elapsed).to_have_text(re.compile(r"^0:07:0\d$"))
    first = seconds(elapsed.inner_text())

    expect(elapsed).not_to_have_text(elapsed.inner_text())

    assert seconds(elapsed.inner_text()) > first


@pytest.fixture
def limited_job(running_job: EgressJob) -> EgressJob:
    """The running job, launched with an hour's Stop after (written before the browser starts)."""
    running_job.config |= {"stop_after": 3600}
    running_job.save(update_fields=["config"])
    return running_job


def test_it_counts_down_the_limit_set_at_launch(limited_job: EgressJob, page: Page) -> None:
    log_in_as(page, "producer")
    page.goto(f"/jobs/{limited_job.pk}/")
    left = page.locator(".time-left")
    expect(left).to_have_text(re.compile(r"^0:5[23]:\d\d$"))  # an hour, less the 7 minutes run
    expect(page.get_by_text("the limit set at launch")).to_be_visible()
    first = seconds(left.inner_text())

    expect(left).not_to_have_text(left.inner_text())

    assert seconds(left.inner_text()) < first


def test_it_shows_retry_and_drops_the_stop_flash_when_the_job_ends(
    page: Page, sandbox: RunningSandbox
) -> None:
    sandbox.control.set_pacing(ending=2.0)  # the job ends after its page shows
    log_in_as(page, "producer")
    launch_stream(page, "town-hall")
    expect(page.locator("#job-live [data-status]")).to_have_text("Active")
    expect(page.get_by_role("button", name="Retry")).to_have_count(0)

    page.get_by_role("link", name="Stop this egress").click()
    page.get_by_role("button", name="Stop the egress").click()
    expect(page.locator("#job-live [data-status]")).to_have_text("Ending")
    expect(page.locator("#messages")).to_contain_text("Asked LiveKit to stop EG_")

    expect(page.locator("#job-live [data-status]")).to_have_text("Complete")
    expect(page.get_by_role("button", name="Retry")).to_be_visible()
    expect(page.get_by_role("link", name="Clone and edit")).to_be_visible()
    # The flash spoke of the job as it was; the page now says it is Complete instead.
    expect(page.locator("#messages")).to_be_empty()


def test_it_shows_times_in_the_readers_zone_labelled(
    running_job: EgressJob, new_page: Callable[..., Page]
) -> None:
    page = new_page(locale="en-GB", timezone_id="Europe/Paris")
    log_in_as(page, "producer")
    page.goto(f"/jobs/{running_job.pk}/")

    started = page.locator(".job-facts time").nth(1)  # Created, then Started
    expect(started).to_have_text(re.compile(r"\d\d:\d\d:\d\d CET$"))
    expect(started).to_have_attribute("title", re.compile(r"\d\d:\d\d:\d\d UTC$"))


def test_it_shows_retry_when_the_job_ends_while_the_page_polls(
    page: Page, sandbox: RunningSandbox
) -> None:
    sandbox.control.set_pacing(ending=2.0)
    # No websocket: every one the page opens is closed at once, so it polls.
    page.route_web_socket("**/ws/live/**", lambda ws: ws.close(code=1011, reason="no socket"))
    log_in_as(page, "producer")
    launch_stream(page, "town-hall")
    expect(page.locator("#job-live [data-status]")).to_have_text("Active")

    page.get_by_role("link", name="Stop this egress").click()
    page.get_by_role("button", name="Stop the egress").click()
    expect(page.locator("#job-live [data-status]")).to_have_text("Ending")
    expect(page.locator("#messages")).to_contain_text("Asked LiveKit to stop EG_")

    expect(page.locator("#job-live [data-status]")).to_have_text("Complete")
    expect(page.get_by_role("button", name="Retry")).to_be_visible()
    expect(page.locator("#messages")).to_be_empty()
