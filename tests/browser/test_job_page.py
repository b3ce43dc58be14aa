"""A job's page as it changes: its duration ticks while the egress runs, and when the egress
ends its header (Retry) and the flash above it follow without a reload."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect

from egress_app.models import EgressJob, EgressStatus
from tests.browser.every_page import log_in_as

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

    expect(elapsed).not_to_have_text(elapsed.inner_text(), timeout=3000)

    assert seconds(elapsed.inner_text()) > first
