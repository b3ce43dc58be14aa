"""A token's life in the browser, on a phone: made and shown once, used by a script, revoked
after a confirmation, all from the keyboard; and the API's docs page under the
Content-Security-Policy."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.browser.test_content_security_policy import refusals
from tests.browser.test_journeys import log_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def fits(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_it_makes_uses_and_revokes_a_token_on_a_phone(demo_users, page: Page):
    page.set_viewport_size(PHONE)
    log_in(page, "producer", "producer-demo-pass")
    page.goto("/tokens/")
    expect(page.get_by_text("No tokens yet")).to_be_visible()
    assert fits(page)

    page.get_by_label("Name").fill("Nightly CI")
    day = timezone.localdate() + timedelta(days=7)
    page.get_by_label("Expires after").fill(day.isoformat())
    page.get_by_label("Expires after").press("Enter")

    shown = page.get_by_label("Your new token")
    expect(shown).to_have_value(re.compile(r"^egd_[0-9a-f]{12}_"))
    assert fits(page)
    token = shown.input_value()
    headers = {"Authorization": f"Bearer {token}"}
    assert page.request.get("/api/jobs", headers=headers).status == 200

    page.get_by_role("link", name="Revoke Nightly CI").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Revoke the token Nightly CI?")).to_be_visible()
    assert fits(page)
    page.get_by_role("button", name="Revoke Nightly CI").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Revoked the token Nightly CI")).to_be_visible()
    expect(page.locator("[data-token] td").nth(2)).to_have_text("Revoked")
    assert page.request.get("/api/jobs", headers=headers).status == 401


def test_it_shows_the_api_docs_without_a_refusal(page: Page):
    refused = refusals(page)
    page.goto("/api/docs")
    expect(page.get_by_text("Egress Dashboard API").first).to_be_visible()
    expect(page.get_by_text("/api/jobs/{job_id}/stop").first).to_be_visible()
    assert refused == []
