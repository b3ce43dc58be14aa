"""The filters of the failure inbox and the job history, as a person sees them: the chosen one
marked, a room found by part of its name, the two dates kept side by side."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from egress_app.management.commands.seed_demo import seed_demo_jobs
from tests.browser.test_journeys import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def history(demo_users: list[User]) -> None:
    # Written before the `page` fixture starts the browser (see tests/browser/conftest.py).
    seed_demo_jobs(next(user for user in demo_users if user.username == "producer"))


def style(page: Page, selector: str, name: str) -> str:
    return str(page.eval_on_selector(selector, f"e => getComputedStyle(e).{name}"))


def test_it_marks_the_failures_shown(history: None, page: Page) -> None:
    log_in(page, "support", "support-demo-pass")
    page.goto("/failures/")
    choices = page.get_by_role("navigation", name="Which failures")
    choices.get_by_role("link", name="Resolved").click()

    resolved = choices.get_by_role("link", name="Resolved")
    expect(resolved).to_have_attribute("aria-current", "true")
    expect(choices.get_by_role("link", name="Still open")).not_to_have_attribute(
        "aria-current", "true"
    )
    chosen, other = "nav.filters a[aria-current]", "nav.filters a:not([aria-current])"
    assert style(page, chosen, "fontWeight") == "600"
    assert style(page, chosen, "borderBottomWidth") == "3px"
    assert style(page, other, "borderBottomWidth") == "0px"


@pytest.mark.parametrize("width", [640, 900, 1280])
def test_it_keeps_the_two_dates_together(history: None, page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "support", "support-demo-pass")
    page.goto("/jobs/")
    since, until = page.get_by_label("Created from"), page.get_by_label("Created to")
    first, second = since.bounding_box(), until.bounding_box()
    assert first is not None
    assert second is not None
    assert first["y"] == second["y"]


def test_it_finds_a_room_by_part_of_its_name(history: None, page: Page) -> None:
    log_in(page, "support", "support-demo-pass")
    page.goto("/jobs/")
    page.get_by_label("Room").fill("POD")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator(".job-list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("podcast")
