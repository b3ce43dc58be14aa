"""Test these settings in a real browser, on a phone-wide screen, against moto's S3 server
(tests/emulators.py): the admin tries the add form's settings, sees them pass, then saves."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_journeys import log_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
WRONG_SECRET = "not-the-right-secret-4321"


def fill_s3_form(page: Page, s3_storage: dict, secret: str) -> None:
    config = s3_storage["config"]
    page.get_by_role("textbox", name="Name", exact=True).fill("Moto S3")
    page.get_by_role("textbox", name="Bucket", exact=True).fill(config["bucket"])
    page.get_by_role("textbox", name="Region", exact=True).fill(config["region"])
    page.get_by_role("textbox", name="Endpoint URL").fill(config["endpoint"])
    page.get_by_label("Path-style URLs").check()
    page.get_by_label("Access key ID").fill(s3_storage["secrets"]["access_key"])
    page.get_by_label("Secret access key").fill(secret)


def assert_nothing_saved(new_page) -> None:
    # Through the pages: the test thread may not use the ORM while a browser is open.
    other = new_page()
    log_in(other, "admin", "admin-demo-pass")
    other.goto("/storage/")
    expect(other.get_by_text("No storage profiles yet.")).to_be_visible()


def test_it_tests_the_add_forms_settings_then_saves_them(new_page, s3_storage):
    page = new_page()
    page.set_viewport_size(PHONE)
    log_in(page, "admin", "admin-demo-pass")
    page.goto("/storage/new/")
    page.evaluate("window.notReloaded = true")

    fill_s3_form(page, s3_storage, WRONG_SECRET)
    page.get_by_role("button", name="Test these settings").click()
    result = page.locator("#settings-test-result .test-result")
    expect(result).to_have_class(re.compile(r"\bfailed\b"))
    expect(result).to_contain_text("These settings failed.")
    expect(result).to_contain_text("the secret does not match the access key; check the secret")
    assert WRONG_SECRET not in page.content()

    page.get_by_label("Secret access key").fill(s3_storage["secrets"]["secret"])
    page.get_by_role("button", name="Test these settings").click()
    expect(result).to_have_class(re.compile(r"\bok\b"))
    expect(result).to_contain_text("These settings work.")
    expect(result.locator("li.ok")).to_have_count(4)
    expect(page.get_by_role("button", name="Test these settings")).to_be_enabled()
    assert page.evaluate("window.notReloaded") is True  # htmx: the form kept what was typed
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert_nothing_saved(new_page)

    # Saved as tested: the browser still holds the secret typed, and the saved Test passes.
    page.get_by_role("button", name="Add profile").click()
    expect(page.get_by_role("heading", name="Edit Moto S3")).to_be_visible()
    expect(page.get_by_text("Added Moto S3.")).to_be_visible()
    page.get_by_role("button", name="Test Moto S3").click()
    expect(page.locator(".connection-test .test-result")).to_contain_text(
        "Moto S3: the connection works."
    )


def test_it_tests_the_settings_without_javascript(new_page, s3_storage):
    page = new_page(java_script_enabled=False)
    page.set_viewport_size(PHONE)
    log_in(page, "admin", "admin-demo-pass")
    page.goto("/storage/new/")
    fill_s3_form(page, s3_storage, s3_storage["secrets"]["secret"])
    page.get_by_role("button", name="Test these settings").click()
    expect(page.locator(".test-result.ok")).to_contain_text("These settings work.")
    # The page came back: the typed secret did not, the rest did.
    expect(page.get_by_label("Secret access key")).to_have_value("")
    expect(page.get_by_role("textbox", name="Bucket", exact=True)).to_have_value(
        s3_storage["config"]["bucket"]
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert_nothing_saved(new_page)


def test_it_shows_progress_while_a_slow_store_is_tested(
    new_page, s3_storage, hanging_endpoint, settings
):
    settings.STORAGE_TEST_TIMEOUT = 2  # the server runs in this process: it reads this
    page = new_page()
    page.set_viewport_size(PHONE)
    log_in(page, "admin", "admin-demo-pass")
    page.goto("/storage/new/")
    fill_s3_form(page, s3_storage, s3_storage["secrets"]["secret"])
    page.get_by_role("textbox", name="Endpoint URL").fill(hanging_endpoint)
    button = page.get_by_role("button", name="Test these settings")
    button.click()
    progress = page.locator("#settings-test-progress")
    expect(progress).to_be_visible()
    expect(progress).to_contain_text("Testing these settings: writing a probe object")
    expect(progress).to_contain_text("(at most 2 s)")
    expect(button).to_be_disabled()
    result = page.locator("#settings-test-result .test-result")
    expect(result).to_contain_text("Timed out after 2 s", timeout=8_000)
    expect(progress).to_be_hidden()
    expect(button).to_be_enabled()
