"""The admin's storage journey in a real browser, against moto's S3 server (tests/emulators.py)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_journeys import log_in

pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/storage.png"


def test_it_lets_the_admin_add_test_and_fix_an_s3_profile(page: Page, s3_storage):
    config, secrets = s3_storage["config"], s3_storage["secrets"]
    log_in(page, "admin", "admin-demo-pass")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Storage").click()
    expect(page.get_by_role("heading", name="Storage profiles")).to_be_visible()
    expect(page.get_by_text("No storage profiles yet.")).to_be_visible()
    page.get_by_role("link", name="Add a storage profile").first.click()

    # Another provider swaps its fields in without a reload; back to S3.
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Provider").select_option(label="Google Cloud Storage")
    expect(page.get_by_label("Service account key (JSON)")).to_be_visible()
    expect(page.get_by_label("Secret access key")).to_have_count(0)
    page.get_by_label("Provider").select_option(label="Amazon S3 or S3-compatible")
    expect(page.get_by_label("Secret access key")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True

    # By accessible name: the "*" of required fields is hidden from assistive technology.
    page.get_by_role("textbox", name="Name", exact=True).fill("Moto S3")
    page.get_by_role("textbox", name="Bucket", exact=True).fill(config["bucket"])
    page.get_by_role("textbox", name="Region", exact=True).fill(config["region"])
    page.get_by_role("textbox", name="Endpoint URL").fill(config["endpoint"])
    page.get_by_label("Path-style URLs").check()
    page.get_by_label("Access key ID").fill(secrets["access_key"])
    page.get_by_label("Secret access key").fill(secrets["secret"])
    page.get_by_role("button", name="Add profile").click()

    expect(page.get_by_role("heading", name="Edit Moto S3")).to_be_visible()
    expect(page.get_by_text("Added Moto S3.")).to_be_visible()
    expect(page.get_by_label("Secret access key")).to_have_value("")
    page.get_by_role("button", name="Test Moto S3").click()
    result = page.locator(".test-result")
    expect(result).to_have_class(re.compile(r"\bok\b"))
    expect(result).to_contain_text("Moto S3: the connection works.")
    expect(result.locator("li.ok")).to_have_count(4)
    expect(page.locator(".last-test .badge")).to_have_text("✓ OK")

    # Replace the secret with a wrong one.
    page.get_by_label("Secret access key").fill("not-the-right-secret-0000")
    page.get_by_label("Replace (clear the stored value)").nth(1).check()
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Saved Moto S3.")).to_be_visible()

    row = page.locator('tbody[data-profile="Moto S3"]')
    expect(row.locator(".last-test .badge")).to_have_text("✓ OK")
    row.get_by_role("button", name="Test Moto S3").click()
    result = row.locator(".test-result")
    expect(result).to_have_class(re.compile(r"\bfailed\b"))
    expect(result).to_contain_text("Moto S3: the connection failed.")
    expect(result).to_contain_text("the secret does not match the access key; check the secret")
    # The row's last-test cell follows, without a reload.
    expect(row.locator(".last-test .badge")).to_have_text("✗ Failed")
    expect(row.get_by_role("button", name="Test Moto S3")).to_be_enabled()
    assert "not-the-right-secret" not in page.content()
    page.screenshot(path=SCREENSHOT, full_page=True)


def test_it_keeps_producers_out_of_storage(page: Page):
    log_in(page, "producer", "producer-demo-pass")
    expect(page.get_by_role("heading", name="Live on LiveKit")).to_be_visible()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Storage")
    ).to_have_count(0)
    response = page.goto("/storage/")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("heading", name="You don't have access to this page")).to_be_visible()
