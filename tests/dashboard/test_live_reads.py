"""The Live page's LiveKit reads, shared by everyone watching it for LIVE_CACHE_SECONDS: counted
as the sandbox receives them over HTTP (ListRooms, ListParticipants per room, ListEgress)."""

from __future__ import annotations

import asyncio
import pickle
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.core.cache import caches
from django.test import Client
from django.urls import reverse
from livekit.protocol import egress

from dashboard import livekit_cache
from dashboard.overview import Overview, load_overview
from egress_app import events
from egress_app.livekit import get_livekit_client
from egress_app.sandbox.testing import SPARE_KEY, SPARE_SECRET, RunningSandbox
from tests.dashboard.test_home import text_of
from tests.dashboard.test_live_cards import RECORD, token
from tests.jobs import make_profile

pytestmark = pytest.mark.django_db

LIVE = reverse("dashboard-home-live")
REMOVE = reverse("dashboard-live-remove")
HTMX = {"HX-Request": "true"}
# The demo fixture's three rooms: one ListRooms, a ListParticipants each, one ListEgress.
ONE_READ = {"ListRooms": 1, "ListParticipants": 3, "ListEgress": 1}
PAGE_READS = tuple(ONE_READ)


def reads(sandbox: RunningSandbox) -> dict[str, int]:
    calls = sandbox.control.calls
    return {name: calls.get(name, 0) for name in PAGE_READS}


def times(count: int) -> dict[str, int]:
    return {name: calls * count for name, calls in ONE_READ.items()}


def viewer(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_reads_livekit_once_for_every_viewer_within_the_time(producer, admin, support, sandbox):
    for user in (producer, admin, support):
        assert "Alice Moreau" in text_of(viewer(user).get(LIVE))

    assert reads(sandbox) == ONE_READ


def test_it_shows_the_answer_read_for_another_viewer(producer, support, sandbox):
    viewer(producer).get(LIVE)
    sandbox.control.add_participant("podcast", "zed", name="Zed Newcomer")  # no webhook told

    assert "Zed Newcomer" not in text_of(viewer(support).get(LIVE))
    assert reads(sandbox) == ONE_READ


def test_it_makes_one_read_for_viewers_arriving_together(sandbox):
    client = get_livekit_client()

    async def together() -> list[Overview]:
        return await asyncio.gather(*(load_overview(client) for _ in range(20)))

    overviews = async_to_sync(together)()

    assert reads(sandbox) == ONE_READ
    assert {len(overview.rooms) for overview in overviews} == {3}


def test_it_makes_one_read_for_viewers_in_other_threads(sandbox):
    # Each thread runs its own event loop, as each server process does: they share the cache's
    # lock, not the process's flights.
    client = get_livekit_client()
    with ThreadPoolExecutor(8) as pool:
        overviews = list(pool.map(lambda _: async_to_sync(load_overview)(client), range(16)))

    assert reads(sandbox) == ONE_READ
    assert {len(overview.rooms) for overview in overviews} == {3}


def test_it_reads_again_once_the_time_is_up(producer, sandbox, settings):
    settings.LIVE_CACHE_SECONDS = 1
    client = viewer(producer)
    client.get(LIVE)
    sandbox.control.add_participant("podcast", "zed", name="Zed Newcomer")
    time.sleep(1.1)

    assert "Zed Newcomer" in text_of(client.get(LIVE))
    assert reads(sandbox) == times(2)


def test_it_reads_on_every_refresh_with_no_time(producer, sandbox, settings):
    settings.LIVE_CACHE_SECONDS = 0
    client = viewer(producer)
    for _ in range(3):
        client.get(LIVE)

    assert reads(sandbox) == times(3)


def test_it_shows_a_removal_at_once_to_whoever_removed(
    producer, sandbox, django_capture_on_commit_callbacks
):
    client = viewer(producer)
    assert 'data-identity="guest"' in client.get(LIVE).content.decode()
    fields = {"room": "podcast", "identity": "guest", "confirmed": "1"}

    with django_capture_on_commit_callbacks(execute=True):
        client.post(REMOVE, fields, headers=HTMX)

    assert 'data-identity="guest"' not in client.get(LIVE).content.decode()
    assert reads(sandbox) == times(2)


def test_it_shows_a_recording_at_once_to_whoever_started_it(
    producer, admin, sandbox, django_capture_on_commit_callbacks
):
    client = viewer(producer)
    assert "No egress is running" in text_of(client.get(LIVE))
    fields = {"room": "town-hall", "storage_profile_id": make_profile(admin).pk}

    with django_capture_on_commit_callbacks(execute=True):
        client.post(RECORD, fields | {"launch_token": token()}, headers=HTMX)

    assert "No egress is running" not in text_of(client.get(LIVE))


def test_it_shows_a_new_room_at_once_to_whoever_created_it(
    producer, sandbox, django_capture_on_commit_callbacks
):
    client = viewer(producer)
    client.get(LIVE)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("dashboard-room-create"), {"name": "new-show"})

    assert 'data-room="new-show"' in client.get(LIVE).content.decode()


def test_it_reads_again_after_a_webhook_says_the_room_changed(
    producer, sandbox, django_capture_on_commit_callbacks
):
    client = viewer(producer)
    client.get(LIVE)
    sandbox.control.add_participant("podcast", "zed", name="Zed Newcomer")

    with django_capture_on_commit_callbacks(execute=True):
        events.announce_rooms()  # what a participant_joined webhook announces

    assert "Zed Newcomer" in text_of(client.get(LIVE))


def test_it_keeps_no_failure(producer, sandbox, settings):
    settings.LIVEKIT_API_SECRET = "not-the-secret"
    client = viewer(producer)

    refused = text_of(client.get(LIVE))
    settings.LIVEKIT_API_SECRET = sandbox.api_secret
    answered = text_of(client.get(LIVE))

    assert "Could not load" in refused
    assert "Twirp code unauthenticated" in refused
    assert "Alice Moreau" in answered
    assert reads(sandbox) == {"ListRooms": 2, "ListParticipants": 3, "ListEgress": 2}


def test_it_keeps_each_api_keys_answers_apart(producer, sandbox, settings):
    client = viewer(producer)
    client.get(LIVE)
    # A key the sandbox knows only for signing webhooks: its own answer is LiveKit's refusal,
    # not the rooms the first key was shown.
    settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET = SPARE_KEY, SPARE_SECRET

    assert "Alice Moreau" not in text_of(client.get(LIVE))
    assert reads(sandbox) == {"ListRooms": 2, "ListParticipants": 3, "ListEgress": 2}


def test_it_keeps_no_secret(producer, sandbox):
    upload = egress.S3Upload(bucket="shows", access_key="AKIA-KEPT", secret="s3-secret-kept")
    recording = egress.EncodedFileOutput(filepath="show.mp4", s3=upload)
    request = egress.RoomCompositeEgressRequest(room_name="podcast", file_outputs=[recording])
    async_to_sync(get_livekit_client().start_room_composite_egress)(request)

    assert "podcast" in text_of(viewer(producer).get(LIVE))

    scope = livekit_cache.scope(get_livekit_client())
    names = [f"{scope}:rooms", f"{scope}:egress", livekit_cache.GENERATION]
    kept = caches[livekit_cache.CACHE].get_many(names)
    assert set(kept) == set(names)  # the answers are there, and none of the secrets
    stored = pickle.dumps(kept) + repr(kept).encode() + " ".join(names).encode()
    for secret in (sandbox.api_secret, "s3-secret-kept", "AKIA-KEPT"):
        assert secret.encode() not in stored


@pytest.fixture
def cache_out_of_reach(settings, closed_port_url):
    redis_url = closed_port_url.replace("http://", "redis://")
    live = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
    settings.CACHES = settings.CACHES | {livekit_cache.CACHE: live}
    livekit_cache._cache.cache_clear()
    yield
    livekit_cache._cache.cache_clear()


def test_it_reads_livekit_itself_when_the_cache_is_out_of_reach(
    producer, sandbox, cache_out_of_reach
):
    client = viewer(producer)
    pages = [text_of(client.get(LIVE)) for _ in range(2)]

    assert all("Alice Moreau" in page for page in pages)
    assert reads(sandbox) == times(2)
