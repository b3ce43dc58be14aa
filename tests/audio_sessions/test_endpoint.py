"""Audio sessions over the sandbox's real Track Egress websockets, into the dashboard served on a
real port (issue 14, sections 1 and 2)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils import timezone
from livekit.protocol import egress
from pytest_django.fixtures import Settings
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from dashboard.audio import level_key
from egress_app import actions
from egress_app.actions.audio import tap_url, token_hash
from egress_app.actions.reconcile import reconcile
from egress_app.audio.levels import FLOOR_DBFS
from egress_app.models import (
    AudioSession,
    AudioSessionState,
    AudioTap,
    AuditAction,
    AuditEntry,
    AuditTarget,
    EgressJob,
    EgressStatus,
    TapState,
)
from egress_app.sandbox.testing import RunningSandbox
from tests.audio_sessions.conftest import AudioServer, serving_dashboard
from tests.jobs import stored_text

# One second of egress's audio: 48 kHz, stereo, 16-bit.
SECOND = 48_000 * 2 * 2
WAIT = 15.0


def until[T](read: Callable[[], T], ok: Callable[[T], bool], what: str, timeout: float = WAIT) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still {value!r} after {timeout} s")
        time.sleep(0.05)


def taps(server: AudioServer, session: AudioSession) -> list[AudioTap]:
    return server.read(lambda: list(session.taps.select_related("job").order_by("pk")))


def tap_of(server: AudioServer, pk: int) -> AudioTap:
    return server.run(AudioTap.objects.get, pk=pk)


def listening(server: AudioServer, sandbox: RunningSandbox, actor: Any) -> list[AudioTap]:
    """A session over the podcast room, its taps once both receive audio."""
    session = server.run(actions.start_audio_session, actor, "podcast")
    started = taps(server, session)
    for tap in started:
        until(lambda t=tap: tap_of(server, t.pk).bytes_received, bool, f"bytes on {tap}")
    return started


def folded(server: AudioServer, sandbox: RunningSandbox, job: EgressJob, status: str) -> EgressJob:
    assert job.egress_id
    info = sandbox.control.wait_for_status(job.egress_id, status, timeout=WAIT)
    result = server.run(actions.observe, info).job
    assert result is not None
    return result


def dial(url: str, *, content_type: str | None = "audio/x-raw") -> int:
    """Dial as egress does; the HTTP status of a refused handshake, 101 when accepted."""

    async def attempt() -> int:
        headers = {"Content-Type": content_type} if content_type else {}
        try:
            async with connect(url, additional_headers=headers, open_timeout=5):
                return 101
        except InvalidStatus as refused:
            return refused.response.status_code

    return asyncio.run(attempt())


def test_it_receives_each_microphone_of_the_room(
    producer, audio_server: AudioServer, sandbox: RunningSandbox
):
    started = listening(audio_server, sandbox, producer)

    assert [tap.participant_identity for tap in started] == ["host", "guest"]
    for tap in taps(audio_server, started[0].session):
        assert tap.state == TapState.CONNECTED
        assert tap.connected_at is not None
        assert tap.job is not None
        assert tap.job.kind == "track"
        # The token stays out of the job's config (redacted as LiveKit redacts it).
        assert tap.job.config["track"]["websocket_url"].endswith(f"/audio/{tap.pk}/?t={{...}}")
        assert tap.refusals == 0


def test_it_follows_the_mute_state(producer, audio_server: AudioServer, sandbox: RunningSandbox):
    host, guest = listening(audio_server, sandbox, producer)

    sandbox.control.set_track_muted("podcast", host.track_sid, True)

    until(lambda: tap_of(audio_server, host.pk).muted, bool, "the host's tap muted")
    assert not tap_of(audio_server, guest.pk).muted
    sandbox.control.set_track_muted("podcast", host.track_sid, False)
    until(lambda: tap_of(audio_server, host.pk).muted, lambda muted: not muted, "unmuted")


def test_it_stops_every_tap_with_stop_egress(
    producer, audio_server: AudioServer, sandbox: RunningSandbox
):
    started = listening(audio_server, sandbox, producer)
    session = started[0].session

    ended = audio_server.run(actions.stop_audio_session, producer, session)

    assert ended.state == AudioSessionState.ENDED
    assert ended.ended_at is not None
    for tap in started:
        assert tap.job is not None
        job = folded(audio_server, sandbox, tap.job, "COMPLETE")
        assert job.status == EgressStatus.COMPLETE
        assert job.error == ""
        # LiveKit's stream_results[].url shows the token: the job keeps it masked.
        token = job.secrets()["track:websocket_url"].partition("?t=")[2]
        assert token
        assert token not in audio_server.run(stored_text, job)
        assert token_hash(token) == tap.token_hash
        closed = until(lambda t=tap: tap_of(audio_server, t.pk), _closed, "tap closed")
        assert closed.bytes_received > 0
    entries = audio_server.run(
        lambda: list(
            AuditEntry.objects.filter(target_type=AuditTarget.AUDIO_SESSION).values_list(
                "action", "actor_name"
            )
        )
    )
    assert sorted(entries) == sorted(
        [(AuditAction.STARTED, producer.username), (AuditAction.STOPPED, producer.username)]
    )
    stopped_jobs = audio_server.run(
        lambda: AuditEntry.objects.filter(
            target_type=AuditTarget.JOB, action=AuditAction.STOPPED
        ).count()
    )
    assert stopped_jobs == 2


def _closed(tap: AudioTap) -> bool:
    return tap.state == TapState.CLOSED


def test_it_refuses_a_wrong_token(producer, audio_server: AudioServer, sandbox: RunningSandbox):
    host, _ = listening(audio_server, sandbox, producer)
    wrong = tap_url(host, "not-the-token")

    assert dial(wrong) == 403

    assert tap_of(audio_server, host.pk).refusals == 1


def test_it_refuses_a_reused_token_and_a_second_connection(
    producer, audio_server: AudioServer, sandbox: RunningSandbox, settings: Settings
):
    # The token only ever exists in the URL LiveKit dials: the job keeps it, encrypted.
    host, _ = listening(audio_server, sandbox, producer)
    assert host.job is not None
    url = audio_server.run(lambda: EgressJob.objects.get(pk=host.job.pk).secrets())[
        "track:websocket_url"
    ]

    assert dial(url) == 403  # while egress is connected: a second connection
    sandbox.control.set_track_muted("podcast", host.track_sid, True)  # still flowing

    assert tap_of(audio_server, host.pk).refusals == 1
    audio_server.run(actions.stop_audio_session, producer, host.session)
    until(lambda: tap_of(audio_server, host.pk), _closed, "tap closed")
    assert dial(url) == 403  # after it: a used token
    assert tap_of(audio_server, host.pk).refusals == 2


def test_it_refuses_another_content_type(
    producer, audio_server: AudioServer, sandbox: RunningSandbox
):
    # A tap whose egress never came: its token is unused, only the header is wrong.
    session = audio_server.run(
        lambda: AudioSession.objects.create(room_name="podcast", started_by=producer)
    )
    tap = audio_server.run(_unused_tap, session, "good-token")
    url = tap_url(tap, "good-token")

    assert dial(url, content_type="text/plain") == 403
    assert dial(url, content_type=None) == 403

    tap = tap_of(audio_server, tap.pk)
    assert (tap.refusals, tap.connected_at) == (2, None)
    assert dial(url) == 101
    assert tap_of(audio_server, tap.pk).connected_at is not None


def test_it_refuses_an_expired_token(producer, audio_server: AudioServer, sandbox: RunningSandbox):
    session = audio_server.run(
        lambda: AudioSession.objects.create(room_name="podcast", started_by=producer)
    )
    tap = audio_server.run(_unused_tap, session, "old-token", expired=True)

    assert dial(tap_url(tap, "old-token")) == 403

    assert tap_of(audio_server, tap.pk).refusals == 1


def test_it_refuses_an_unknown_tap(audio_server: AudioServer):
    assert dial(f"ws://{audio_server.url.removeprefix('http://')}/egress/audio/999999/?t=x") == 403


def _unused_tap(session: AudioSession, token: str, *, expired: bool = False) -> AudioTap:
    lifetime = timedelta(minutes=-1 if expired else 3)
    return AudioTap.objects.create(
        session=session,
        participant_identity="host",
        track_sid="TR_unused",
        token_hash=token_hash(token),
        token_expires_at=timezone.now() + lifetime,
    )


def test_it_ignores_and_counts_other_text(
    producer, audio_server: AudioServer, sandbox: RunningSandbox
):
    session = audio_server.run(
        lambda: AudioSession.objects.create(room_name="podcast", started_by=producer)
    )
    tap = audio_server.run(_unused_tap, session, "text-token")

    async def talk() -> None:
        headers = {"Content-Type": "audio/x-raw"}
        async with connect(tap_url(tap, "text-token"), additional_headers=headers) as ws:
            nested = "[" * 100_000  # deeper than json may parse
            for text in ("hello", '{"muted": "yes"}', '{"muted": true, "x": 1}', "[]", nested):
                await ws.send(text)
            await ws.send('{"muted":true}')
            await ws.send(bytes(1920))

    asyncio.run(talk())

    closed = until(lambda: tap_of(audio_server, tap.pk), _closed, "tap closed")
    assert (closed.ignored_messages, closed.muted, closed.bytes_received) == (5, True, 1920)


def test_it_keeps_egress_through_its_pings(
    producer, audio_server: AudioServer, sandbox: RunningSandbox
):
    # egress pings with "ping" and answers our pings with "pong": as served, nothing checks them.
    sandbox.control.set_audio(ping_interval=0.1)
    host, guest = listening(audio_server, sandbox, producer)

    for tap in (host, guest):  # 3 s of audio: some 30 of egress's pings
        until(
            lambda t=tap: tap_of(audio_server, t.pk).bytes_received, lambda n: n > 3 * SECOND, "3 s"
        )

    for tap in (host, guest):
        assert tap.job is not None
        assert tap.job.egress_id
        assert sandbox.control.egress(tap.job.egress_id).status == egress.EgressStatus.EGRESS_ACTIVE


def test_it_loses_egress_to_pong_checking_keepalive(
    producer,
    transactional_db,
    django_db_serialized_rollback,
    sandbox: RunningSandbox,
    settings: Settings,
):
    # The control: uvicorn's default keepalive (scaled down) drops egress, which answers "pong".
    with serving_dashboard(settings, ws_ping_interval=0.2, ws_ping_timeout=0.2) as server:
        session = server.run(actions.start_audio_session, producer, "podcast")
        for tap in taps(server, session):
            assert tap.job is not None
            job = folded(server, sandbox, tap.job, "FAILED")
            assert job.status == EgressStatus.FAILED


def test_it_refuses_more_taps_than_the_limit(
    producer, audio_server: AudioServer, sandbox: RunningSandbox, settings: Settings
):
    settings.EGRESS_CONCURRENCY_LIMIT = 3
    listening(audio_server, sandbox, producer)  # 2 running

    with pytest.raises(ValidationError) as refused:  # town-hall has 3 microphones
        audio_server.run(actions.start_audio_session, producer, "town-hall")

    assert refused.value.messages == [
        "Listening needs 3 taps, and 2 of the 3 egress your LiveKit plan runs at once are busy "
        "(EGRESS_CONCURRENCY_LIMIT). Stop some first."
    ]
    assert audio_server.run(AudioSession.objects.filter(room_name="town-hall").count) == 0


def test_it_hears_a_participant_who_joins(
    producer, audio_server: AudioServer, sandbox: RunningSandbox
):
    listening(audio_server, sandbox, producer)
    sandbox.control.add_participant("podcast", "ivy", tracks=("microphone",))

    run = audio_server.run(reconcile)

    assert run.tapped == 1
    ivy = audio_server.run(AudioTap.objects.get, participant_identity="ivy")
    until(lambda: tap_of(audio_server, ivy.pk).bytes_received, bool, "bytes from ivy")


def kept_level(pk: int) -> dict[str, Any] | None:
    return cache.get(level_key(pk))


def test_it_measures_each_taps_level_off_the_event_loop(
    producer, audio_server: AudioServer, sandbox: RunningSandbox
):
    host, guest = listening(audio_server, sandbox, producer)

    for tap in (host, guest):
        level = until(lambda t=tap: kept_level(t.pk), _heard, f"a level above the floor on {tap}")
        assert level["session_id"] == tap.session_id
        assert level["peak_dbfs"] >= level["rms_dbfs"]
    sandbox.control.set_track_muted("podcast", host.track_sid, True)
    until(lambda: kept_level(host.pk), lambda level: level["state"] == "muted", "muted meter")


def _heard(level: dict[str, Any] | None) -> bool:
    return level is not None and level["rms_dbfs"] > FLOOR_DBFS
