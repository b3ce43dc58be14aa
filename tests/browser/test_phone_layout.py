"""Every page fits a 390 px phone: nothing scrolls sideways (tables scroll in their own box),
and the header's menu folds behind a button a keyboard can open."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import AsgiServer
from tests.browser.every_page import EVERYONE, Shown, log_in_as

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}

# How far the page reaches past the screen's width, and what sticks out (for the message).
OVERFLOW = """
() => {
  const width = window.innerWidth;
  const wider = [...document.querySelectorAll("body *")]
    .filter((el) => el.getBoundingClientRect().right > width + 1)
    .map((el) => el.tagName.toLowerCase() + (el.className ? "." + el.className : ""));
  return { scrollWidth: document.documentElement.scrollWidth, width, wider: wider.slice(0, 5) };
}
"""


@pytest.fixture
def phone_page(browser: Browser, asgi_server: AsgiServer) -> Callable[..., Page]:
    contexts = []

    def open_page(**options: object) -> Page:
        context = browser.new_context(base_url=asgi_server.url, viewport=PHONE, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def test_it_fits_every_page_on_a_phone_for_every_role(
    every_page: list[Shown], phone_page: Callable[..., Page]
) -> None:
    pages = every_page
    visited, too_wide = 0, []
    for role in EVERYONE:
        page = phone_page()
        log_in_as(page, role)
        for shown in pages:
            if role not in shown.roles:
                continue
            response = page.goto(shown.path)
            assert response is not None
            assert response.status == shown.status, (role, shown.path)
            page.wait_for_load_state("networkidle")
            if shown.name == "dashboard-home":  # the room card's running egress and its streams
                expect(page.locator(".card-egress .stream-error")).to_be_visible()
            measured = page.evaluate(OVERFLOW)
            visited += 1
            if measured["scrollWidth"] > measured["width"]:
                too_wide.append((role, shown.path, measured))
            if shown.name == "dashboard-job-list":  # stacked rows: not even its own box scrolls
                table = page.locator(".job-list")
                assert table.evaluate("(el) => el.scrollWidth <= el.clientWidth")
    assert visited >= 40
    assert too_wide == [], too_wide


def test_it_folds_the_menu_behind_a_keyboard_usable_button(phone_page, demo_users) -> None:
    page = phone_page()
    log_in_as(page, "admin")
    log_out = page.get_by_role("button", name="Log out")
    expect(log_out).to_be_hidden()

    menu = page.locator(".site-menu > summary")
    menu.focus()
    page.keyboard.press("Enter")

    expect(log_out).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Destinations")
    box = log_out.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= PHONE["width"]


def test_it_shows_the_menu_open_without_javascript(phone_page, demo_users) -> None:
    page = phone_page(java_script_enabled=False)
    log_in_as(page, "producer")

    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
