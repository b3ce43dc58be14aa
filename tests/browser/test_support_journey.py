"""Support's journey in a real browser: the failure inbox, a failed job's cause and timeline,
and Retry, which starts it again with the destination as an admin has since fixed it.

The failed job is a real one: the demo producer starts a stream to a destination whose server
does not resolve, the sandbox fails it as LiveKit does ("failed to connect to rtmp://…"), and the
dashboard folds LiveKit's answer in as the reconciler would. An admin then fixes the
destination. All of this is written before the browser starts (see tests/browser/conftest.py);
the demo history of `seed_demo` adds other causes to the inbox.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from egress_app import actions
from egress_app.failures import STREAM_FAILED
from egress_app.management.commands.seed_demo import seed_demo_jobs
from egress_app.models import EgressJob
from egress_app.sandbox.testing import RunningSandbox
from tests.browser.test_journeys import log_in
from tests.jobs import ended, start, stream_config

pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/retry.png"
OLD_KEY = "SECRET-support-journey-old-key"
FIXED_KEY = "SECRET-support-journey-fixed-key"


@pytest.fixture
def failed_stream(demo_users: list[User], sandbox: RunningSandbox) -> EgressJob:
    users = {user.username: user for user in demo_users}
    seed_demo_jobs(users["producer"])
    destination = actions.create_stream_destination(
        users["admin"],
        name="YouTube main",
        server_url="rtmp://fail.example.com/live2",
        stream_key=OLD_KEY,
    )
    failed = ended(sandbox, start(users["producer"], stream_config(destination)), "FAILED")
    assert failed.cause == STREAM_FAILED.key
    actions.update_stream_destination(
        users["admin"],
        destination,
        name="YouTube main",
        server_url="rtmp://a.rtmp.youtube.com/live2",
        stream_key=FIXED_KEY,
    )
    return failed


def test_it_lets_support_find_a_failed_job_read_why_and_retry_it(
    failed_stream: EgressJob, page: Page
) -> None:
    log_in(page, "support", "support-demo-pass")
    page.get_by_role("link", name="Failures").click()
    expect(page.get_by_role("heading", name="Failures")).to_be_visible()
    causes = page.locator(".failure-groups")
    expect(causes).to_contain_text("The recording page never signalled its start")
    expect(causes).to_contain_text("Lost the connection to the room")

    # Filter by cause: its hint, and only its jobs.
    causes.get_by_role("link", name=STREAM_FAILED.title).click()
    expect(page).to_have_url(re.compile(rf"[?&]cause={STREAM_FAILED.key}"))
    expect(page.get_by_role("heading", name=STREAM_FAILED.title)).to_be_visible()
    rows = page.locator(".failure-jobs tbody tr")
    expect(rows).to_have_count(1)
    rows.get_by_role("link", name=failed_stream.egress_id).click()

    # The job's page: the cause, its hint and LiveKit's words, above the timeline.
    expect(page).to_have_url(re.compile(rf"/jobs/{failed_stream.pk}/$"))
    live = page.locator("#job-live")
    expect(live.locator("[data-status]")).to_have_text("Failed")
    diagnosis = live.locator(".job-diagnosis")
    expect(diagnosis.get_by_role("heading", name=STREAM_FAILED.title)).to_be_visible()
    expect(diagnosis.locator(".hint")).to_have_text(STREAM_FAILED.hint)
    expect(diagnosis).to_contain_text("failed to connect to rtmp://fail.example.com/live2/")
    timeline = live.locator(".job-timeline li")
    expect(timeline.first).to_contain_text("Started by")  # who launched it
    expect(timeline.nth(1)).to_contain_text("egress_answer")  # LiveKit's answer to the Start
    expect(timeline.last).to_contain_text("egress_observed")  # its FAILED, as observed
    expect(timeline.last).to_contain_text("Failed")
    expect(page.get_by_role("link", name="Clone and edit")).to_have_count(0)  # support

    page.get_by_role("button", name="Retry").click()

    expect(page).to_have_url(re.compile(r"/jobs/\d+/$"))
    assert not page.url.endswith(f"/jobs/{failed_stream.pk}/")
    started = re.compile(rf"^Started job {failed_stream.pk} again as job \d+\.$")
    expect(page.get_by_text(started)).to_be_visible()
    expect(page.get_by_role("link", name=f"job {failed_stream.pk}")).to_be_visible()
    expect(page.locator("#job-live [data-status]")).to_have_text("Active")
    expect(page.locator(".job-outputs")).to_contain_text("YouTube main")
    expect(page.get_by_role("link", name="Stop this egress")).to_be_visible()  # support's own
    html = page.content()
    assert OLD_KEY not in html
    assert FIXED_KEY not in html
    page.screenshot(path=SCREENSHOT, full_page=True)

    # Back on the original, the chain shows the other way.
    page.get_by_role("link", name=f"job {failed_stream.pk}").click()
    expect(page.locator(".job-chain")).to_contain_text(re.compile(r"Retried as: job \d+"))
