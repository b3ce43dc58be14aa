"""A producer adds a room rule and creates a room from the Live page: LiveKit (the sandbox)
records the room on its own, and the job list shows the egress as started by the rule."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from egress_app.actions.recipes import save_recipe
from egress_app.models import Recipe
from egress_app.sandbox.testing import RunningSandbox
from tests.browser.test_journeys import log_in
from tests.jobs import file_config, make_profile

pytestmark = pytest.mark.browser


@pytest.fixture
def recipe(demo_users: list[User]) -> Recipe:
    """Written before the browser starts (list it before `page`)."""
    admin = next(user for user in demo_users if user.username == "admin")
    return save_recipe(admin, name="Webinar 1080p", config=file_config(make_profile(admin)))


def test_it_lets_a_producer_add_a_rule_and_create_a_room_it_records(
    recipe: Recipe, sandbox: RunningSandbox, page: Page
) -> None:
    log_in(page, "producer", "producer-demo-pass")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Rules").click()
    expect(page.get_by_text("No room rules yet.")).to_be_visible()
    expect(page.get_by_text("Rooms created by someone else")).to_be_visible()
    page.get_by_role("link", name="Add a rule").click()

    page.get_by_label("Room name pattern").fill("webinar-*")
    page.get_by_role("combobox", name="Recipe").select_option(label="Webinar 1080p")
    page.get_by_label("Record each participant").check()
    page.get_by_role("button", name="Add rule").click()

    expect(page.get_by_role("cell", name="webinar-*", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="the room, each participant", exact=True)).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Live").click()
    page.get_by_role("link", name="Create room").click()
    page.get_by_role("textbox", name="Room name").fill("webinar-browser")
    page.get_by_label("Close when empty after (seconds)").fill("120")
    page.get_by_role("button", name="Create room").click()

    expect(page.get_by_text("Created the room webinar-browser.")).to_be_visible()
    expect(page.get_by_text("LiveKit records it by the rule webinar-*")).to_be_visible()
    [info] = [i for i in sandbox.control.egresses() if i.room_name == "webinar-browser"]
    assert info.WhichOneof("request") == "room_composite"
    sandbox.control.wait_for_delivery("egress_started", egress_id=info.egress_id)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Jobs").click()
    expect(page.get_by_role("link", name="by a room rule").first).to_be_visible()
