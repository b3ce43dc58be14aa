"""The job page's "Copy as `lk` command" in a browser: its Copy buttons copy the text shown;
without JavaScript they stay hidden and the text is there to select."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from egress_app.models import EgressJob
from tests.browser.test_journeys import log_in
from tests.jobs.test_lk_command import launched

pytestmark = pytest.mark.browser

GIVEN = {
    "api": "v2",
    "kind": "web",
    "web": {"url": "https://example.com/show"},
    "outputs": {"stream": {"destination_ids": [], "adhoc": []}},
}
ADHOC = "rtmp://live.example.com/app/SECRET-browser-adhoc-XYZ123"


@pytest.fixture
def job(demo_users: list[User]) -> EgressJob:
    producer = next(user for user in demo_users if user.username == "producer")
    made = launched(GIVEN, adhoc=(ADHOC,))
    EgressJob.objects.filter(pk=made.pk).update(started_by=producer, status="EGRESS_COMPLETE")
    return made


def open_command(page: Page, job: EgressJob) -> None:
    log_in(page, "producer", "producer-demo-pass")
    page.goto(f"/jobs/{job.pk}/")
    page.get_by_text("Copy as lk command").click()
    expect(page.locator("#lk-command")).to_have_text("lk egress start request.json")


def test_it_copies_the_json_to_the_clipboard(job: EgressJob, new_page: Callable[..., Page]):
    page = new_page(permissions=["clipboard-read", "clipboard-write"])
    open_command(page, job)
    page.get_by_role("button", name="Copy JSON").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert '"rtmp://<STREAM_URL_1>"' in copied
    assert copied == page.locator("#lk-request").text_content()
    assert "SECRET" not in copied


def test_it_leaves_the_text_to_select_without_javascript(
    job: EgressJob, new_page: Callable[..., Page]
):
    page = new_page(java_script_enabled=False)
    open_command(page, job)
    expect(page.get_by_role("button", name="Copy JSON")).to_be_hidden()
    expect(page.locator("#lk-request")).to_contain_text("<STREAM_URL_1>")
