"""A finished job's recordings play on its page: an MP4 and an HLS output (played with the
vendored hls.js) put into moto with the SDK, reached through the dashboard's links and the
signed URLs they redirect to; and the page with its players fits a 390 px phone.

The media are real and tiny, made with PyAV (H.264 in MP4, and FFmpeg's HLS muxer for a
playlist with .ts segments). moto cannot check presigned URLs (tests/storage/test_objects.py
checks their signatures), so its IAM check is off while the browser plays."""

from __future__ import annotations

import uuid
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from egress_app import actions
from egress_app.models import EgressJob, EgressStatus
from egress_app.sandbox.testing import RunningSandbox
from tests.browser.every_page import log_in_as
from tests.browser.test_phone_layout import OVERFLOW
from tests.emulators import MotoS3

pytestmark = pytest.mark.browser

PLAYING = """(video) => video.readyState >= 2 && video.duration > 0"""


def write_video(container: Any, seconds: int = 2, fps: int = 10) -> None:
    stream = container.add_stream("libx264", rate=fps)
    stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    stream.codec_context.time_base = Fraction(1, fps)
    for n in range(seconds * fps):
        pixels = np.full((48, 64, 3), (n * 12) % 256, dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
        frame.pts = n
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def make_mp4(path: Path) -> Path:
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as mp4:
        write_video(mp4)
    return path


def make_hls(folder: Path) -> list[Path]:
    options = {"hls_time": "1", "hls_list_size": "0", "hls_playlist_type": "vod"}
    with av.open(str(folder / "show.m3u8"), "w", format="hls", options=options) as hls:
        write_video(hls, seconds=3)
    return sorted(folder.iterdir())


@pytest.fixture
def recorded(
    demo_users: list[User], s3_storage: dict[str, Any], moto_s3: MotoS3, tmp_path: Path
) -> EgressJob:
    producer = next(user for user in demo_users if user.username == "producer")
    profile = actions.create_storage_profile(
        producer, name="Moto", provider="s3", **{k: s3_storage[k] for k in ("config", "secrets")}
    )
    folder = f"recordings/{uuid.uuid4().hex}"
    client = moto_s3.client()
    mp4 = make_mp4(tmp_path / "show.mp4")
    client.upload_file(str(mp4), moto_s3.bucket, f"{folder}/show.mp4")
    (tmp_path / "hls").mkdir()
    for file in make_hls(tmp_path / "hls"):
        client.upload_file(str(file), moto_s3.bucket, f"{folder}/{file.name}")
    results = {
        "files": [{"filename": f"{folder}/show.mp4", "location": "s3", "size": mp4.stat().st_size}],
        "segments": [{"playlist_name": f"{folder}/show.m3u8", "segment_count": 3}],
    }
    return EgressJob.objects.create(
        egress_id="EG_playsInPage1",
        kind="room_composite",
        room_name="town-hall",
        status=EgressStatus.COMPLETE,
        started_by=producer,
        storage_profile=profile,
        results=results,
    )


def test_it_plays_an_mp4_and_an_hls_output_on_the_job_page(
    recorded: EgressJob, moto_open: None, page: Page
) -> None:
    log_in_as(page, "producer")
    page.goto(f"/jobs/{recorded.pk}/")
    video = page.locator(".output-file video")
    expect(video).to_be_visible()
    video.evaluate("(video) => { video.muted = true; video.load(); }")
    page.wait_for_function(f"() => ({PLAYING})(document.querySelector('.output-file video'))")
    assert video.evaluate("(video) => video.duration") > 1

    hls = page.locator(".output-segments video")
    expect(hls).to_have_attribute("data-attached", "yes")
    page.wait_for_function(f"() => ({PLAYING})(document.querySelector('.output-segments video'))")
    assert hls.evaluate("(video) => video.duration") > 2


def test_it_downloads_through_the_signed_link_for_support(
    recorded: EgressJob, moto_open: None, page: Page
) -> None:
    log_in_as(page, "support")
    page.goto(f"/jobs/{recorded.pk}/")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download show.mp4").click()
    assert download.value.suggested_filename == "show.mp4"
    assert Path(download.value.path()).read_bytes()[4:8] == b"ftyp"


def test_it_fits_the_players_on_a_phone(recorded: EgressJob, moto_open: None, page: Page) -> None:
    page.set_viewport_size({"width": 390, "height": 800})
    log_in_as(page, "producer")
    page.goto(f"/jobs/{recorded.pk}/")
    expect(page.locator(".output-segments video")).to_have_attribute("data-attached", "yes")
    measured = page.evaluate(OVERFLOW)
    assert measured["scrollWidth"] <= measured["width"], measured


@pytest.fixture
def moto_profile(demo_users: list[User], s3_storage: dict[str, Any]) -> None:
    admin = next(user for user in demo_users if user.username == "admin")
    actions.create_storage_profile(
        admin,
        name="Moto S3",
        provider="s3",
        config=s3_storage["config"],
        secrets=s3_storage["secrets"],
        is_default=True,
    )


def test_it_shows_the_recordings_when_the_job_ends_while_its_page_is_open(
    moto_profile: None, moto_open: None, page: Page, sandbox: RunningSandbox
) -> None:
    log_in_as(page, "producer")
    page.goto("/launch/")
    page.get_by_role("combobox", name="Room", exact=True).select_option("town-hall")
    page.get_by_label("Room composite (the whole room, laid out)").check()
    page.get_by_label("Record to a file").check()
    page.get_by_label("File type").select_option("MP4")
    page.get_by_role("button", name="Start").click()
    expect(page.locator("#job-live [data-status]")).to_have_text("Active")
    expect(page.locator("#job-recordings")).to_be_hidden()

    page.get_by_role("link", name="Stop this egress").click()
    page.get_by_role("button", name="Stop the egress").click()
    expect(page.locator("#job-live [data-status]")).to_have_text("Complete")
    recordings = page.locator("#job-recordings")
    expect(recordings).to_be_visible()
    # The sandbox may or may not have written the file: the page says which, either way.
    expect(recordings.locator(".job-output")).to_contain_text(".mp4")
