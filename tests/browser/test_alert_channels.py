"""An admin's Send test on the channels page: it shows its progress while the receiver takes
its time, then says in plain words that the test alert got through, or why not."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from tests.alerts.conftest import receiver, webhook_channel  # noqa: F401  (a fixture)
from tests.browser.every_page import log_in_as

pytestmark = pytest.mark.browser


@pytest.fixture
def pager(demo_users: list[User], receiver):  # noqa: F811
    """A webhook channel to a receiver that takes a second to answer: 200, then 410."""
    admin = next(user for user in demo_users if user.username == "admin")
    webhook_channel(admin, receiver.url + "/alerts", name="Pager")
    receiver.delay = 1.0
    receiver.statuses.extend([200, 410])
    return receiver


# `pager` first: the database is written before Playwright's loop runs in this thread.
def test_it_shows_a_send_tests_progress_then_its_result(pager, page: Page) -> None:
    log_in_as(page, "admin")
    page.goto("/alerts/channels/")

    page.get_by_role("button", name="Send test to Pager").click()

    expect(page.get_by_text("Sending a test alert to Pager…")).to_be_visible()
    expect(page.get_by_text("Pager: the test alert was sent.")).to_be_visible()
    expect(page.get_by_text("Sending a test alert to Pager…")).to_be_hidden()

    page.get_by_role("button", name="Send test to Pager").click()

    expect(page.get_by_text("Pager: the test alert did not get through.")).to_be_visible()
    expect(page.get_by_text("The webhook answered HTTP 410.")).to_be_visible()
