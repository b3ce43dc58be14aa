"""A session's taps mixed (issue 14, Processing): the sandbox's podcast room into the dashboard's
audio endpoint, mixed in the web process (no Redis), its mix meter on the page and its ticks in
the session's sinks; and the leases by which audio workers share sessions with Redis."""

from __future__ import annotations

import os
from datetime import timedelta
from io import StringIO
from typing import Any

import numpy as np
import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone
from pytest_django.fixtures import Settings

from dashboard.audio import mix_key, mix_level
from egress_app import actions
from egress_app.actions import session_sinks
from egress_app.actions.audio_processing import claim_sessions, release_sessions, renew_leases
from egress_app.audio.levels import FLOOR_DBFS
from egress_app.audio.mixer import Tick
from egress_app.events import MixLevel
from egress_app.models import AudioSession, AudioSessionState
from egress_app.sandbox.testing import RunningSandbox
from tests.audio_sessions.conftest import AudioServer, mixer_running
from tests.audio_sessions.test_endpoint import listening, until

REDIS_URL = os.environ.get("REDIS_URL", "")


class Keeper:
    """A sink that keeps the ticks it is given (as the recorder or an engine would use them)."""

    def __init__(self) -> None:
        self.ticks: list[Tick] = []
        self.closed: list[bool] = []

    def write(self, tick: Tick) -> None:
        self.ticks.append(tick)

    def close(self, *, ended: bool) -> None:
        self.closed.append(ended)


class Broken(Keeper):
    def write(self, tick: Tick) -> None:
        raise OSError("the engine hung up")


def kept_mix(session_id: int) -> dict[str, Any] | None:
    return cache.get(mix_key(session_id))


def test_it_mixes_the_rooms_taps_into_a_moving_meter_and_the_sinks(
    producer, audio_server: AudioServer, sandbox: RunningSandbox, monkeypatch
):
    broken, keeper = Broken(), Keeper()
    factories = [lambda session: broken, lambda session: keeper]
    monkeypatch.setattr(session_sinks, "FACTORIES", factories)

    host, guest = listening(audio_server, sandbox, producer)
    session = host.session

    with mixer_running():
        _mixed(audio_server, producer, session, host.pk, guest.pk, broken, keeper)


def _mixed(server, producer, session, host: int, guest: int, broken, keeper) -> None:
    mix = until(lambda: kept_mix(session.pk), _both_heard, "a mix of both taps above the floor")
    assert mix["peak_dbfs"] >= mix["rms_dbfs"]
    assert broken.closed == [False]  # dropped at its first tick; the keeper goes on
    heard = until(lambda: [t for t in keeper.ticks if len(t.tracks) == 2], len, "two tracks")
    assert set(heard[-1].tracks) == {str(host), str(guest)}
    assert np.abs(heard[-1].mix).max() > 0

    server.run(actions.stop_audio_session, producer, session)

    until(lambda: keeper.closed, bool, "the sinks closed", timeout=10)
    assert keeper.closed == [True]


def _both_heard(mix: dict[str, Any] | None) -> bool:
    return mix is not None and mix["tracks"] == 2 and mix["rms_dbfs"] > FLOOR_DBFS


def test_it_pushes_the_mix_meter_by_its_id():
    html = mix_level(MixLevel(7, -20.0, -11.0, "speaking", 2))

    assert 'id="session-mix-level"' in html
    assert 'hx-swap-oob="true"' in html
    assert "-20.0 dBFS RMS, peak -11.0 dBFS, 2 taps" in html


# --- audio workers' leases --------------------------------------------------------------------
@pytest.fixture
def sessions(db: None) -> list[AudioSession]:
    return [AudioSession.objects.create(room_name=name) for name in ("podcast", "panel")]


def test_two_workers_claim_each_session_once(sessions: list[AudioSession]):
    first = claim_sessions("worker-a", 10)
    second = claim_sessions("worker-b", 10)

    assert sorted(first) == sorted(session.pk for session in sessions)
    assert second == []


def test_a_worker_claims_no_more_than_it_may(sessions: list[AudioSession]):
    assert len(claim_sessions("worker-a", 1)) == 1
    assert len(claim_sessions("worker-b", 5)) == 1


def test_it_takes_over_a_session_whose_lease_ran_out(sessions: list[AudioSession]):
    podcast, panel = sessions
    claim_sessions("worker-a", 10)
    past = timezone.now() - timedelta(seconds=1)
    AudioSession.objects.filter(pk=podcast.pk).update(processed_until=past)  # worker-a died

    assert claim_sessions("worker-b", 10) == [podcast.pk]
    assert renew_leases("worker-a", [podcast.pk, panel.pk]) == {panel.pk}
    assert renew_leases("worker-b", [podcast.pk]) == {podcast.pk}


def test_it_renews_no_lease_on_an_ended_session(sessions: list[AudioSession]):
    podcast, _panel = sessions
    claim_sessions("worker-a", 10)
    AudioSession.objects.filter(pk=podcast.pk).update(state=AudioSessionState.ENDED)

    assert podcast.pk not in renew_leases("worker-a", [podcast.pk])
    assert podcast.pk not in claim_sessions("worker-b", 10)


def test_a_released_session_is_claimed_at_once(sessions: list[AudioSession]):
    claimed = claim_sessions("worker-a", 10)

    release_sessions("worker-a", claimed)

    assert sorted(claim_sessions("worker-b", 10)) == sorted(claimed)


def test_the_worker_says_the_web_process_mixes_without_redis(settings: Settings):
    settings.REDIS_URL = ""
    out = StringIO()

    call_command("audio_worker", stdout=out)

    assert "each web process mixes its own audio sessions" in out.getvalue()


@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (CI sets it)")
def test_the_worker_takes_over_only_the_session_whose_lease_ran_out(
    transactional_db: None, django_db_serialized_rollback: None, settings: Settings
):
    settings.REDIS_URL = REDIS_URL
    settings.REDIS_PREFIX = f"egress-test-{os.getpid()}"
    podcast = AudioSession.objects.create(room_name="podcast")
    panel = AudioSession.objects.create(room_name="panel")
    soon = timezone.now() + timedelta(minutes=1)
    AudioSession.objects.filter(pk=podcast.pk).update(
        processed_by="dead", processed_until=timezone.now() - timedelta(seconds=1)
    )
    AudioSession.objects.filter(pk=panel.pk).update(processed_by="alive", processed_until=soon)
    out = StringIO()

    call_command("audio_worker", "--for", "1.5", stdout=out)

    assert f"Mixing audio session {podcast.pk}." in out.getvalue()
    assert f"session {panel.pk}" not in out.getvalue()
    podcast.refresh_from_db()
    panel.refresh_from_db()
    assert (podcast.processed_by, podcast.processed_until) == ("", None)  # let go on exit
    assert panel.processed_by == "alive"
