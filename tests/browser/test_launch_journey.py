"""The producer's journey in a real browser: launch a recording with a live stream, watch it go
live, add a stream, stop it and see the file. Against the sandbox and moto's S3 server."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from egress_app import actions
from egress_app.models import StorageProfile
from tests.browser.test_journeys import log_in

pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/job.png"
YOUTUBE_KEY = "SECRET-journey-youtube-key-42"
TWITCH_KEY = "SECRET-journey-twitch-key-42"


@pytest.fixture
def saved_outputs(demo_users: list[User], s3_storage: dict[str, Any]) -> None:
    # Written before the `page` fixture starts the browser (see tests/browser/conftest.py).
    admin = next(user for user in demo_users if user.username == "admin")
    actions.create_storage_profile(
        admin,
        name="Moto S3",
        provider="s3",
        config=s3_storage["config"],
        secrets=s3_storage["secrets"],
        is_default=True,
    )
    actions.create_stream_destination(
        admin,
        name="YouTube main",
        server_url="rtmp://a.rtmp.youtube.com/live2",
        stream_key=YOUTUBE_KEY,
    )
    actions.create_stream_destination(
        admin, name="Twitch backup", server_url="rtmp://live.twitch.tv/app", stream_key=TWITCH_KEY
    )


def test_it_lets_the_producer_launch_watch_extend_and_stop_a_recording(
    saved_outputs: None, page: Page, s3_storage: dict[str, Any]
):
    log_in(page, "producer", "producer-demo-pass")
    page.goto("/launch/")
    expect(page.get_by_role("heading", name="Launch an egress")).to_be_visible()
    page.get_by_role("combobox", name="Room", exact=True).select_option("town-hall")
    page.get_by_label("Room composite (the whole room, laid out)").check()
    page.get_by_label("Record to a file").check()
    page.get_by_label("File type").select_option("MP4")
    page.get_by_label("Stream live (RTMP or SRT)").check()
    page.get_by_label("YouTube main").check()
    page.get_by_role("button", name="Start").click()

    expect(page).to_have_url(re.compile(r"/jobs/\d+/$"))
    status = page.locator("#job-live [data-status]")
    expect(status).to_have_text("Active")
    expect(page.locator(".job-outputs")).to_contain_text("YouTube main")

    page.get_by_label("Twitch backup").check()
    page.get_by_role("button", name="Add outputs").click()
    expect(page.get_by_text("Stream outputs added.")).to_be_visible()
    expect(page.locator(".job-outputs")).to_contain_text("Twitch backup")

    page.get_by_role("link", name="Stop this egress").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Stop the egress EG_"))).to_be_visible()
    page.get_by_role("button", name="Stop the egress").click()

    expect(status).to_have_text("Complete")
    file = page.locator(".result-file")
    expect(file).to_contain_text("town-hall")
    expect(file).to_contain_text(re.compile(r"\d+(\.\d+)?\s(bytes|KB|MB|GB)"))
    expect(file.locator(".location")).to_contain_text(s3_storage["config"]["bucket"])
    expect(page.get_by_text("This job can no longer be changed.")).to_be_visible()
    html = page.content()
    assert YOUTUBE_KEY not in html
    assert TWITCH_KEY not in html
    page.screenshot(path=SCREENSHOT, full_page=True)


@pytest.fixture
def two_profiles(demo_users: list[User]) -> None:
    admin = next(user for user in demo_users if user.username == "admin")
    for name, template, default in (
        ("Archive", "", True),
        ("Town hall bucket", "recordings/{room_name}/{time}", False),
    ):
        actions.create_storage_profile(
            admin,
            name=name,
            provider="s3",
            config={"bucket": "main-bucket", "region": "us-east-1"},
            secrets={"access_key": "AKIAEXAMPLE", "secret": "SECRET-preview-42"},
            path_template=template,
            is_default=default,
        )


class FailedTest:
    ok, message = False, "the bucket does not exist"


@pytest.fixture
def failing_default(two_profiles: None) -> None:
    archive = StorageProfile.objects.get(name="Archive")
    actions.record_storage_test(None, archive, FailedTest())


def test_it_shows_the_chosen_profiles_last_test_beside_it(failing_default: None, page: Page):
    log_in(page, "producer", "producer-demo-pass")
    page.goto("/launch/")
    page.get_by_label("Record to a file").check()
    state = page.locator("#profile-state")
    expect(state).to_contain_text("Last test of Archive: ✗ Failed")
    expect(state).to_contain_text("Uploads to this profile may fail")

    page.get_by_label("Storage").select_option(label="Town hall bucket")
    expect(state).to_contain_text("Last test of Town hall bucket: Never tested")
    expect(state).not_to_contain_text("may fail")


def test_it_previews_the_file_with_the_room_then_the_profile_picked(two_profiles: None, page: Page):
    log_in(page, "producer", "producer-demo-pass")
    page.goto("/launch/")
    preview = page.locator("#file-preview")
    page.get_by_role("combobox", name="Room", exact=True).select_option("town-hall")
    page.get_by_label("Record to a file").check()
    expect(preview).to_contain_text(re.compile(r"town-hall-\d{4}-\d\d-\d\dT\d{6}\.mp4"))

    page.get_by_label("Storage").select_option(label="Town hall bucket")
    expect(preview).to_contain_text(re.compile(r"recordings/town-hall/\d{4}-\d\d-\d\dT\d{6}\.mp4"))

    page.get_by_label("File type").select_option("OGG")
    page.get_by_label("Audio only").check()
    expect(preview).to_contain_text(re.compile(r"recordings/town-hall/\d{4}-.*\.ogg"))
    page.get_by_label("HLS segments").check()
    expect(preview).to_contain_text(re.compile(r"Playlist\s*town-hall-\d{4}-.*\.m3u8"))
