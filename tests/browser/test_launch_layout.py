"""The launch form uses a desktop's width: the preview of what it will write sits beside the
form at 1280 px, and under the outputs on a phone; the API choice waits behind "Advanced"."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_journeys import log_in

pytestmark = pytest.mark.browser


def box(page: Page, selector: str) -> dict[str, float]:
    found = page.locator(selector).bounding_box()
    assert found is not None, selector
    return found


def open_launch(page: Page) -> None:
    log_in(page, "producer", "producer-demo-pass")
    page.goto("/launch/")
    expect(page.get_by_role("heading", name="Launch an egress")).to_be_visible()
    page.get_by_label("Record to a file").check()


def test_it_puts_the_preview_beside_the_form_on_a_desktop(page: Page):
    open_launch(page)
    page.evaluate("window.scrollTo(0, 0)")
    preview, outputs = box(page, ".launch-side"), box(page, "fieldset.outputs")
    what = box(page, "fieldset.launch-what")
    assert preview["x"] >= outputs["x"] + outputs["width"]  # to the right of the form
    assert preview["y"] < what["y"] + what["height"]  # level with its top, not under it
    page.locator(".form-actions").scroll_into_view_if_needed()
    assert 0 <= box(page, ".launch-side")["y"] < 800  # it stays in view as the form scrolls
    expect(page.get_by_label("API")).to_be_hidden()
    page.get_by_text("Advanced", exact=True).click()
    expect(page.get_by_label("API")).to_be_visible()


def test_it_keeps_one_column_on_a_phone(page: Page):
    page.set_viewport_size({"width": 390, "height": 844})
    open_launch(page)
    preview, outputs = box(page, ".launch-side"), box(page, "fieldset.outputs")
    assert preview["y"] >= outputs["y"] + outputs["height"]  # after the outputs
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
