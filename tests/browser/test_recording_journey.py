"""The producer picks a storage profile to record the mix to, next to Listen on the Live page: the
choice survives the Live page refreshing its rooms, and the session page says where the mix goes.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect
from pytest_django.fixtures import Settings

from egress_app import actions
from tests.browser.conftest import AsgiServer
from tests.browser.test_journeys import log_in

pytestmark = pytest.mark.browser

# Resolves once htmx has swapped the Live page's rooms in anew.
REFRESHED = """() => new Promise((resolve) => {
    document.body.addEventListener("htmx:afterSettle", () => resolve(true), { once: true });
    htmx.trigger("#live", "poll");
})"""


@pytest.fixture
def shows(demo_users: list[User]) -> None:
    # Written before the `page` fixture starts the browser (see tests/browser/conftest.py).
    admin = next(user for user in demo_users if user.username == "admin")
    actions.create_storage_profile(
        admin,
        name="Shows",
        provider="s3",
        config={"bucket": "shows", "region": "eu-west-1"},
        secrets={"access_key": "AKIAIOSFODNN7EXAMPLE", "secret": "journey-secret-0123456789"},
    )


def test_it_keeps_the_recording_choice_across_refreshes_and_records_to_it(
    shows: None, page: Page, asgi_server: AsgiServer, settings: Settings
) -> None:
    settings.AUDIO_INGEST_URL = asgi_server.url.replace("http", "ws", 1)
    log_in(page, "producer", "producer-demo-pass")
    podcast = page.locator('article.room[data-room="podcast"]')
    choice = podcast.get_by_label("Record the mix to")
    expect(choice).to_have_value("")

    choice.select_option(label="Shows")
    page.evaluate(REFRESHED)

    expect(podcast.get_by_label("Record the mix to")).to_have_value(re.compile(r"^\d+$"))
    podcast.get_by_role("button", name="Listen").click()
    expect(page).to_have_url(re.compile(r"/audio/\d+/$"))
    recordings = page.locator("section.recordings")
    expect(recordings).to_contain_text("The mix is recorded to Shows")
    expect(recordings).to_contain_text("No recording yet: it is uploaded when the session ends.")
