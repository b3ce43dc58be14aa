from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/home.png"


def log_in(page: Page, username: str, password: str) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_it_shows_the_demo_producer_the_sandbox_rooms(page: Page, sandbox):
    log_in(page, "producer", "producer-demo-pass")
    expect(page.get_by_role("heading", name="Live on LiveKit")).to_be_visible()
    expect(page.locator(".sandbox-banner")).to_contain_text(
        f"Connected to the built-in LiveKit sandbox at {sandbox.url}"
    )
    expect(page.locator(".account")).to_contain_text("producer")
    expect(page.locator(".account")).to_contain_text("Producer")

    town_hall = page.locator('[data-room="town-hall"]')
    expect(town_hall).to_be_visible()
    for name in ("Alice Moreau", "Bob Okafor", "Carol Lindqvist"):
        expect(town_hall).to_contain_text(name)
    expect(town_hall).to_contain_text("screen share")
    expect(page.locator('[data-room="podcast"]')).to_contain_text("Dana Host")
    expect(page.get_by_text("No egress is running")).to_be_visible()
    # app.js rewrote the server's UTC time into the browser's own format (keeping UTC as title).
    expect(page.locator(".updated time")).to_have_attribute("title", re.compile("UTC"))
    page.screenshot(path=SCREENSHOT, full_page=True)


def test_it_tells_a_mistyped_password_clearly(page: Page):
    log_in(page, "producer", "not-the-password")
    expect(page.get_by_role("alert")).to_have_text(
        "Your username and password didn't match. Please try again."
    )
    expect(page.get_by_label("Username")).to_have_value("producer")
    expect(page.locator(".account")).to_have_count(0)
