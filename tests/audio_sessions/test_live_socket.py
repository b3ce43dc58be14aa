"""An audio session's page over the live websocket (`/ws/live/?view=audio&id=<session>`): who
may follow it, its snapshot, and the meters the audio endpoint pushes."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.utils import timezone
from livekit.protocol import egress, webhook

from dashboard import publisher
from egress_app import actions, events
from egress_app.models import AudioSession, AudioTap, EgressJob, EgressKind, EgressStatus
from tests.live.test_consumer import WAIT, fail, following, make_job, prepare, refused, sync

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def asgi_loaded(transactional_db, settings) -> None:
    settings.WEBSOCKET_ALLOWED_ORIGINS = ["http://testserver"]
    prepare()
    # Whether a page follows a session is asked once a second: not from a previous test's.
    publisher._followed_at.clear()


@pytest.fixture
def tap(producer: User) -> AudioTap:
    session = AudioSession.objects.create(room_name="podcast", started_by=producer)
    return AudioTap.objects.create(
        session=session,
        participant_identity="host",
        track_sid="TR_host",
        token_hash="x" * 64,
        token_expires_at=timezone.now() + timedelta(minutes=3),
    )


def query(tap: AudioTap) -> str:
    return f"view=audio&id={tap.session_id}"


async def test_it_refuses_anonymous_visitors_and_outsiders(outsider, tap):
    assert await refused(query(tap), None)
    assert await refused(query(tap), outsider)


async def test_it_refuses_a_session_that_is_not_there(admin, tap):
    for bad in ["view=audio&id=999999", "view=audio&id=x", "view=audio"]:
        assert await refused(bad, admin), bad


@pytest.mark.parametrize("persona", ["producer", "admin", "support"])
async def test_it_pushes_each_taps_level(request, persona: str, tap: AudioTap):
    user = await sync(request.getfixturevalue, persona)
    async with following(query(tap), user) as socket:
        level = events.TapLevel(tap.session_id, tap.pk, -15.0, -12.0, "speaking", 19_200)
        await events.announce_tap_level(level)

        pushed = await socket.receive_from(timeout=WAIT)

    assert f'id="tap-{tap.pk}-level"' in pushed
    assert 'value="-15.0"' in pushed
    assert "-15.0 dBFS RMS, peak -12.0 dBFS" in pushed
    assert f'id="tap-{tap.pk}-bytes"' in pushed


async def test_it_renders_no_level_for_a_session_nobody_follows(tap: AudioTap):
    level = events.TapLevel(tap.session_id, tap.pk, -15.0, -12.0, "speaking", 19_200)

    await events.announce_tap_level(level)

    assert publisher._followed_at[events.group(events.AUDIO, tap.session_id)][1] is False


async def test_it_pushes_the_taps_when_one_connects(producer, tap: AudioTap):
    from egress_app.actions.audio import token_hash

    await sync(AudioTap.objects.filter(pk=tap.pk).update, token_hash=token_hash("t0ken"))
    async with following(query(tap), producer) as socket:
        assert await sync(actions.open_tap, tap.pk, "t0ken", "audio/x-raw") is None

        pushed = await socket.receive_from(timeout=WAIT)

    assert 'id="audio-live"' in pushed
    assert 'data-state="connected"' in pushed


def tapped_job(tap: AudioTap) -> EgressJob:
    job = make_job(tap.session.started_by, f"EG_tap{tap.pk}", EgressStatus.ACTIVE)
    EgressJob.objects.filter(pk=job.pk).update(kind=EgressKind.TRACK)
    AudioTap.objects.filter(pk=tap.pk).update(job=job)
    return EgressJob.objects.get(pk=job.pk)


async def test_it_pushes_the_taps_when_the_reconciler_finds_a_tap_failed(producer, tap: AudioTap):
    job = await sync(tapped_job, tap)
    async with following(query(tap), producer) as socket:
        await sync(fail, job, "websocket: close sent")

        pushed = await socket.receive_from(timeout=WAIT)

    assert 'id="audio-live"' in pushed
    assert "status-failed" in pushed


async def test_it_pushes_the_taps_when_a_webhook_says_a_tap_completed(producer, tap: AudioTap):
    job = await sync(tapped_job, tap)
    now = time.time_ns()
    info = egress.EgressInfo(
        egress_id=job.egress_id,
        room_name=job.room_name,
        status=egress.EgressStatus.EGRESS_COMPLETE,
        updated_at=now,
        ended_at=now,
    )
    event = webhook.WebhookEvent(event="egress_ended", id=f"EV_{job.egress_id}", egress_info=info)
    async with following(query(tap), producer) as socket:
        assert await sync(actions.receive_webhook, event)

        pushed = await socket.receive_from(timeout=WAIT)

    assert 'id="audio-live"' in pushed
    assert "status-complete" in pushed


async def test_it_pushes_a_level_while_the_shared_sync_thread_is_busy(producer, tap: AudioTap):
    # Every tap's database writes share one thread (and Django's cache's async calls with them):
    # a reading must not wait there to reach the page.
    level = events.TapLevel(tap.session_id, tap.pk, -15.0, -12.0, "speaking", 19_200)
    async with following(query(tap), producer) as socket:
        busy = asyncio.create_task(sync_to_async(time.sleep, thread_sensitive=True)(3))
        await asyncio.sleep(0.1)
        started = time.monotonic()

        await events.announce_tap_level(level)
        pushed = await socket.receive_from(timeout=WAIT)

        assert time.monotonic() - started < 1.5
        assert f'id="tap-{tap.pk}-level"' in pushed
        await busy
