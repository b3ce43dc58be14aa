"""The People page in a real browser (issue 17, section 4): an admin invites a producer, the
invitee opens the one-time link in a browser of their own, chooses a password, signs in and
sees the producers' pages; the admin deactivates them and their open session ends."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_journeys import log_in

pytestmark = pytest.mark.browser

PASSWORD = "lantern-river-harbour"


def _invite(admin: Page) -> str:
    admin.get_by_role("link", name="People").click()
    admin.get_by_role("link", name="Add or invite a person").click()
    admin.get_by_label("Username").fill("nina-new")
    admin.get_by_label("Email address").fill("nina@example.com")
    admin.get_by_label("Role").select_option(label="Producer")
    admin.get_by_role("button", name="Add").click()
    expect(admin.get_by_text("shown only once")).to_be_visible()
    return admin.get_by_label("Link for nina-new").input_value()


def _accept(invitee: Page, link: str) -> None:
    invitee.goto(link)
    expect(invitee).to_have_url(re.compile(r"/welcome/$"))  # the token left the address bar
    invitee.get_by_label(re.compile(r"^New password\W*$")).fill(PASSWORD)
    invitee.get_by_label("New password confirmation").fill(PASSWORD)
    invitee.get_by_role("button", name="Set my password").click()
    expect(invitee.get_by_text("Password set.")).to_be_visible()
    invitee.get_by_label("Username").fill("nina-new")
    invitee.get_by_label("Password").fill(PASSWORD)
    invitee.get_by_role("button", name="Log in").click()


def test_it_lets_an_admin_invite_a_producer_then_deactivate_them(
    new_page: Callable[[], Page],
) -> None:
    admin = new_page()
    log_in(admin, "admin", "admin-demo-pass")
    link = _invite(admin)
    invitee = new_page()
    _accept(invitee, link)
    nav = invitee.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Launch")).to_be_visible()
    expect(nav.get_by_role("link", name="People")).to_have_count(0)
    invitee.get_by_role("link", name="Launch").click()
    expect(invitee).to_have_url(re.compile(r"/launch/"))

    admin.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
    admin.get_by_label("Search").fill("nina")  # filters in place (htmx)
    expect(admin.locator("[data-person]")).to_have_count(1)
    expect(admin).to_have_url(re.compile(r"q=nina"))
    row = admin.locator('[data-person="nina-new"]')
    expect(row).to_contain_text("Active")
    row.get_by_role("link", name="nina-new").click()
    admin.get_by_role("link", name="Deactivate").click()
    admin.get_by_role("button", name="Deactivate nina-new").click()
    expect(admin.get_by_text("their sessions ended")).to_be_visible()

    invitee.reload()
    expect(invitee).to_have_url(re.compile(r"/login/"))
    invitee.goto(link)
    expect(invitee.get_by_role("alert")).to_contain_text("already been used")
