"""Who may start and stop an audio session, and what a session refuses, against the sandbox
(no audio endpoint listens: see test_endpoint.py for the audio itself)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from livekit.protocol import webhook
from pytest_django.fixtures import Settings

from egress_app import actions
from egress_app.actions.audio import follow_audio_sessions
from egress_app.checks import check_audio_ingest
from egress_app.models import (
    AudioSession,
    AudioSessionState,
    AuditEntry,
    AuditTarget,
    TapSource,
    TapState,
)
from egress_app.roles import PRODUCERS
from egress_app.sandbox.testing import RunningSandbox
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def nowhere(settings: Settings, closed_port_url: str) -> None:
    # Nothing listens there: the taps' egress fail to dial, which these tests do not mind.
    settings.AUDIO_INGEST_URL = closed_port_url.replace("http", "ws", 1)


@pytest.mark.parametrize("persona", ["anonymous", "outsider", "support"])
def test_it_refuses_a_start_to_anyone_but_producers_and_admins(
    request, persona: str, sandbox: RunningSandbox
):
    actor = AnonymousUser() if persona == "anonymous" else request.getfixturevalue(persona)

    with pytest.raises(PermissionDenied):
        actions.start_audio_session(actor, "podcast")

    assert not AudioSession.objects.exists()
    assert sandbox.control.egresses() == []


@pytest.mark.parametrize("persona", ["producer", "admin"])
def test_it_lets_producers_and_admins_start(request, persona: str, sandbox: RunningSandbox):
    actor = request.getfixturevalue(persona)

    session = actions.start_audio_session(actor, "podcast")

    assert session.started_by == actor
    assert [tap.participant_identity for tap in session.taps.all()] == ["host", "guest"]
    assert len(sandbox.control.egresses()) == 2
    assert AuditEntry.objects.get(target_type=AuditTarget.AUDIO_SESSION).outcome == "2 taps"


def test_it_keeps_each_participants_display_name(producer, sandbox: RunningSandbox):
    session = actions.start_audio_session(producer, "podcast")

    names = [(tap.participant_identity, tap.participant_name) for tap in session.taps.all()]
    assert names == [("host", "Dana Host"), ("guest", "Eli Guest")]


@pytest.mark.parametrize(("screen", "tracks"), [(False, 3), (True, 4)])
def test_it_taps_screen_share_audio_only_when_asked(
    producer, screen: bool, tracks: int, sandbox: RunningSandbox
):
    # In town-hall alice shares her screen with its audio; bob and carol have microphones.
    session = actions.start_audio_session(producer, "town-hall", screen_share_audio=screen)

    assert session.screen_share_audio is screen
    assert session.taps.count() == tracks
    assert len(sandbox.control.egresses()) == tracks
    shared = session.taps.filter(track_source=TapSource.SCREEN_SHARE_AUDIO)
    assert [tap.participant_identity for tap in shared] == (["alice"] if screen else [])
    for tap in shared:
        assert tap.job is not None
        assert tap.job.egress_id
        info = sandbox.control.egress(tap.job.egress_id)
        assert info.track.track_id == tap.track_sid  # its own Track Egress


@pytest.mark.parametrize("persona", ["anonymous", "outsider", "support", "other_producer"])
def test_it_refuses_a_stop_to_others(request, persona: str, producer, sandbox: RunningSandbox):
    session = actions.start_audio_session(producer, "podcast")
    if persona == "anonymous":
        actor = AnonymousUser()
    elif persona == "other_producer":
        actor = make_user("pia-producer", PRODUCERS)
    else:
        actor = request.getfixturevalue(persona)

    with pytest.raises(PermissionDenied):
        actions.stop_audio_session(actor, session)

    session.refresh_from_db()
    assert session.state == AudioSessionState.RUNNING


@pytest.mark.parametrize("persona", ["producer", "admin"])
def test_it_lets_the_owner_and_admins_stop(
    request, persona: str, producer, sandbox: RunningSandbox
):
    session = actions.start_audio_session(producer, "podcast")

    ended = actions.stop_audio_session(request.getfixturevalue(persona), session)

    assert ended.state == AudioSessionState.ENDED


def test_it_refuses_a_room_without_microphones(producer, sandbox: RunningSandbox):
    with pytest.raises(ValidationError) as refused:
        actions.start_audio_session(producer, "empty-room")

    assert refused.value.messages == ["Nobody in empty-room publishes a microphone."]


def test_it_refuses_a_second_session_for_a_room(producer, admin, sandbox: RunningSandbox):
    actions.start_audio_session(producer, "podcast")

    with pytest.raises(ValidationError) as refused:
        actions.start_audio_session(admin, "podcast")

    assert refused.value.messages == ["An audio session already listens to podcast."]


def test_it_refuses_past_the_concurrency_limit(
    producer, sandbox: RunningSandbox, settings: Settings
):
    settings.EGRESS_CONCURRENCY_LIMIT = 1

    with pytest.raises(ValidationError) as refused:
        actions.start_audio_session(producer, "podcast")

    assert "Listening needs 2 taps" in refused.value.messages[0]
    assert sandbox.control.egresses() == []


def test_it_says_where_egress_dials_in_development(settings: Settings):
    assert check_audio_ingest() == []
    settings.ENVIRONMENT, settings.AUDIO_INGEST_URL = "production", ""

    assert [message.id for message in check_audio_ingest()] == ["egress_app.E009"]
    settings.AUDIO_INGEST_URL = "https://dashboard.example.com"
    assert [message.id for message in check_audio_ingest()] == ["egress_app.E009"]
    settings.AUDIO_INGEST_URL = "wss://dashboard.example.com"
    assert check_audio_ingest() == []


# --- following the room -------------------------------------------------------------------------
def test_it_taps_a_microphone_published_later(producer, sandbox: RunningSandbox):
    session = actions.start_audio_session(producer, "podcast")
    sandbox.control.add_participant("podcast", "ivy", tracks=("camera", "microphone"))

    assert follow_audio_sessions() == 1

    assert [tap.participant_identity for tap in session.taps.all()] == ["host", "guest", "ivy"]
    assert follow_audio_sessions() == 0  # each track once
    job = session.taps.get(participant_identity="ivy").job
    assert job is not None
    assert job.started_by is None  # the system followed the room


@pytest.mark.parametrize(("screen", "taps"), [(False, 1), (True, 2)])
def test_it_follows_screen_share_audio_when_asked(
    producer, screen: bool, taps: int, sandbox: RunningSandbox
):
    session = actions.start_audio_session(producer, "podcast", screen_share_audio=screen)
    sandbox.control.add_participant("podcast", "ivy", tracks=("microphone", "screen_share_audio"))

    assert follow_audio_sessions() == taps

    sources = session.taps.filter(participant_identity="ivy").values_list("track_source", flat=True)
    assert sorted(sources) == ["microphone", "screen_share_audio"][:taps]


def test_it_taps_again_a_track_whose_egress_failed(producer, sandbox: RunningSandbox):
    # Nothing listens at AUDIO_INGEST_URL: egress fails to dial, as after a dashboard restart.
    session = actions.start_audio_session(producer, "podcast")
    for tap in session.taps.all():
        assert tap.job is not None
        assert tap.job.egress_id
        actions.observe(sandbox.control.wait_for_status(tap.job.egress_id, "FAILED"))

    assert follow_audio_sessions() == 2

    assert session.taps.count() == 4


def test_it_settles_the_taps_whose_egress_ended(producer, sandbox: RunningSandbox):
    # As after a restart: the process holding the host's connection died without recording it;
    # the guest's egress never dialled through.
    session = actions.start_audio_session(producer, "podcast")
    host, guest = session.taps.select_related("job")
    session.taps.filter(pk=host.pk).update(state=TapState.CONNECTED, connected_at=timezone.now())
    for tap in (host, guest):
        assert tap.job is not None
        assert tap.job.egress_id
        actions.observe(sandbox.control.wait_for_status(tap.job.egress_id, "FAILED"))

    follow_audio_sessions()

    host.refresh_from_db()
    guest.refresh_from_db()
    assert host.job is not None
    assert (host.state, host.closed_at) == (TapState.CLOSED, host.job.ended_at)
    assert (guest.state, guest.closed_at) == (TapState.FAILED, None)


def test_it_ends_the_session_with_its_room(producer, sandbox: RunningSandbox):
    session = actions.start_audio_session(producer, "podcast")
    finished = webhook.WebhookEvent(id="EV_room_gone", event="room_finished")
    finished.room.name = "podcast"

    actions.receive_webhook(finished)

    session.refresh_from_db()
    assert session.state == AudioSessionState.ENDED
    entry = AuditEntry.objects.get(target_type=AuditTarget.AUDIO_SESSION, action="stopped")
    assert (entry.actor_name, entry.outcome) == ("system", "the room has ended")


def test_it_ends_the_session_when_the_room_is_gone(producer, sandbox: RunningSandbox):
    # The room_finished webhook was lost: the reconciler finds the room gone.
    session = actions.start_audio_session(producer, "podcast")
    sandbox.control.delete_room("podcast")

    assert follow_audio_sessions() == 0

    session.refresh_from_db()
    assert session.state == AudioSessionState.ENDED


def test_it_refuses_a_blank_room_name(producer, sandbox: RunningSandbox):
    with pytest.raises(ValidationError) as refused:
        actions.start_audio_session(producer, "  ")

    assert refused.value.messages == ["Give the name of the room to listen to."]
    assert sandbox.control.egresses() == []


def test_it_keeps_one_running_session_per_room(producer):
    # Two starts at once both pass the check before either writes: the database refuses one.
    AudioSession.objects.create(room_name="podcast", started_by=producer)

    with pytest.raises(IntegrityError), transaction.atomic():
        AudioSession.objects.create(room_name="podcast", started_by=producer)

    AudioSession.objects.update(state=AudioSessionState.ENDED)
    AudioSession.objects.create(room_name="podcast", started_by=producer)


def test_it_starts_no_tap_for_a_stopped_session(producer, sandbox: RunningSandbox):
    session = actions.start_audio_session(producer, "podcast")
    actions.stop_audio_session(producer, session)
    sandbox.control.add_participant("podcast", "ivy", tracks=("microphone",))

    assert follow_audio_sessions() == 0

    assert session.taps.count() == 2
