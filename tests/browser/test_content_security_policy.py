"""Every page works under the Content-Security-Policy: no script, style or connection of the
dashboard's is refused, htmx polls without eval, and the live websocket still opens."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_journeys import log_in

pytestmark = pytest.mark.browser

PAGES = ["/", "/jobs/", "/launch/", "/storage/", "/destinations/", "/failures/", "/reports/"]


def refusals(page: Page) -> list[str]:
    found: list[str] = []
    page.on(
        "console",
        lambda message: (
            found.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return found


def test_it_runs_every_page_without_a_refusal(page: Page):
    refused = refusals(page)
    log_in(page, "admin", "admin-demo-pass")
    expect(page.get_by_role("heading", name="Live on LiveKit")).to_be_visible()

    for path in PAGES:
        page.goto(path)
        page.wait_for_load_state("networkidle")

    assert refused == []


def test_it_polls_the_live_overview_without_eval_when_its_websocket_closes(page: Page):
    refused = refusals(page)
    page.route_web_socket("**/ws/live/**", lambda socket: socket.close())
    log_in(page, "producer", "producer-demo-pass")
    expect(page.locator('[data-room="town-hall"]')).to_be_visible()

    # No websocket: app.js fires the overview's "poll" every 5 s (data-poll).
    with page.expect_request(re.compile(r"/live/$"), timeout=8_000):
        pass

    assert refused == []


def test_it_opens_the_live_websocket_of_the_job_list(page: Page):
    refused = refusals(page)
    log_in(page, "support", "support-demo-pass")

    page.goto("/jobs/")

    expect(page.locator("body")).to_have_class(re.compile(r"\blive-connected\b"))
    assert refused == []
