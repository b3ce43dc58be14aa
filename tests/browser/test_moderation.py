"""A producer moderates a room from the Live page in a real browser, against the sandbox."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_journeys import log_in

pytestmark = pytest.mark.browser


def test_it_lets_a_producer_mute_and_remove_a_guest_from_the_live_page(
    demo_users, page: Page, sandbox
):
    log_in(page, "producer", "producer-demo-pass")
    podcast = page.locator('[data-room="podcast"]')
    guest = podcast.locator('[data-identity="guest"]')
    expect(guest).to_be_visible()

    # Keyboard only: focus the button and press Enter.
    page.get_by_role("button", name="Mute guest's microphone").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#messages")).to_contain_text("Muted guest's track in podcast.")
    expect(page.get_by_role("button", name="Unmute guest's microphone")).to_be_visible()
    expect(guest.locator(".badge.muted")).to_be_visible()

    # Remove asks first: dismissed, nothing happens; accepted, the guest goes.
    page.once("dialog", lambda dialog: dialog.dismiss())
    guest.get_by_role("button", name="Remove guest from podcast").click()
    expect(guest).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    guest.get_by_role("button", name="Remove guest from podcast").click()
    expect(page.locator("#messages")).to_contain_text("Removed guest from podcast.")
    expect(guest).to_have_count(0)
    assert "guest" not in [p.identity for p in sandbox.control.participants("podcast")]
