"""Recording a session's mix, as people see it: the choice next to Listen on the Live page
(validated, audited, producers and admins only) and the session page's list of recordings
(support read-only, no secret shown), against the sandbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from pytest_django.fixtures import Settings

from egress_app import actions
from egress_app.models import (
    AudioRecording,
    AudioSession,
    AudioSessionState,
    AuditAction,
    AuditEntry,
    AuditTarget,
    RecordingState,
    StorageProfile,
)
from egress_app.sandbox.testing import RunningSandbox
from tests.dashboard.test_home import text_of

pytestmark = pytest.mark.django_db

LISTEN = reverse("dashboard-audio-listen")
HOME_LIVE = reverse("dashboard-home-live")
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture(autouse=True)
def nowhere(settings: Settings, closed_port_url: str) -> None:
    # Nothing listens there: the taps' egress fail to dial, which these tests do not mind.
    settings.AUDIO_INGEST_URL = closed_port_url.replace("http", "ws", 1)


def make_profile(name: str, *, last_test_ok: bool | None = None) -> StorageProfile:
    profile = actions.create_storage_profile(
        None,
        name=name,
        provider="s3",
        config={"bucket": "shows", "region": "eu-west-1"},
        secrets={"access_key": "AKIAIOSFODNN7EXAMPLE", "secret": SECRET},
    )
    StorageProfile.objects.filter(pk=profile.pk).update(last_test_ok=last_test_ok)
    return profile


@pytest.fixture
def shows() -> StorageProfile:
    return make_profile("Shows")


def session_url(session: AudioSession) -> str:
    return reverse("dashboard-audio-session", args=[session.pk])


# --- the choice on the Live page ----------------------------------------------------------------
def test_it_offers_every_profile_and_marks_a_failed_test(
    client, producer: User, sandbox: RunningSandbox
) -> None:
    shows = make_profile("Shows", last_test_ok=True)
    broken = make_profile("Broken bucket", last_test_ok=False)
    client.force_login(producer)

    html = client.get(HOME_LIVE).content.decode()

    podcast = html.partition('data-room="podcast"')[2].partition("</article>")[0]
    assert '<select name="record_to">' in podcast
    assert '<option value="" selected>Don\'t record</option>' in podcast
    assert f'<option value="{shows.pk}">Shows</option>' in podcast
    assert f'<option value="{broken.pk}">Broken bucket (last test failed)</option>' in podcast


def test_it_offers_no_choice_without_profiles(client, producer, sandbox: RunningSandbox) -> None:
    client.force_login(producer)

    html = client.get(HOME_LIVE).content.decode()

    assert f'action="{LISTEN}"' in html
    assert "record_to" not in html


def test_it_offers_support_no_choice(client, support, shows, sandbox: RunningSandbox) -> None:
    client.force_login(support)

    assert "record_to" not in client.get(HOME_LIVE).content.decode()


@pytest.mark.parametrize("persona", ["producer", "admin"])
def test_it_starts_a_recorded_session_and_audits_the_choice(
    client, request, persona: str, shows: StorageProfile, sandbox: RunningSandbox
) -> None:
    client.force_login(request.getfixturevalue(persona))

    response = client.post(LISTEN, {"room": "podcast", "record_to": str(shows.pk)})

    session = AudioSession.objects.get()
    assert response["Location"] == session_url(session)
    assert session.record_to == shows
    entry = AuditEntry.objects.get(target_type=AuditTarget.AUDIO_SESSION, target_id=session.pk)
    assert entry.action == AuditAction.STARTED
    assert entry.outcome == "2 taps; recording the mix to Shows"


def test_it_does_not_record_by_default(client, producer, shows, sandbox: RunningSandbox) -> None:
    client.force_login(producer)

    client.post(LISTEN, {"room": "podcast", "record_to": ""})

    session = AudioSession.objects.get()
    assert session.record_to is None
    entry = AuditEntry.objects.get(target_type=AuditTarget.AUDIO_SESSION, target_id=session.pk)
    assert entry.outcome == "2 taps"


@pytest.mark.parametrize("choice", ["deleted", "not-a-number", "-1", "9" * 20])
def test_it_refuses_a_profile_that_does_not_exist_in_plain_words(
    client, producer, shows: StorageProfile, choice: str, sandbox: RunningSandbox
) -> None:
    gone = make_profile("Gone")
    actions.delete_storage_profile(None, gone)
    value = str(gone.pk) if choice == "deleted" else choice
    client.force_login(producer)

    response = client.post(LISTEN, {"room": "podcast", "record_to": value}, follow=True)

    assert response.status_code == 200
    assert "The storage profile chosen for the recording does not exist" in text_of(response)
    assert not AudioSession.objects.exists()
    assert sandbox.control.egresses() == []


def test_it_sends_anonymous_visitors_to_log_in(client, shows: StorageProfile) -> None:
    response = client.post(LISTEN, {"room": "podcast", "record_to": str(shows.pk)})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not AudioSession.objects.exists()


@pytest.mark.parametrize("persona", ["support", "outsider"])
def test_it_refuses_a_recorded_session_to_support_and_outsiders(
    client, request, persona: str, shows: StorageProfile, sandbox: RunningSandbox
) -> None:
    client.force_login(request.getfixturevalue(persona))

    response = client.post(LISTEN, {"room": "podcast", "record_to": str(shows.pk)})

    assert response.status_code == 403
    assert not AudioSession.objects.exists()


# --- the recordings on the session page ---------------------------------------------------------
@pytest.fixture
def recorded(producer: User, shows: StorageProfile) -> AudioSession:
    session = AudioSession.objects.create(room_name="podcast", started_by=producer, record_to=shows)
    common = {"session": session, "profile": shows, "profile_name": "Shows"}
    AudioRecording.objects.create(
        **common,
        location="bucket shows",
        key=f"audio-sessions/podcast/{session.pk}-20261205T080000Z.wav",
        bytes=1_920_044,
        seconds=60.0,
        state=RecordingState.UPLOADED,
        created_at=timezone.now(),
    )
    AudioRecording.objects.create(
        **common,
        location="bucket shows",
        key=f"audio-sessions/podcast/{session.pk}-20261205T090000Z.wav",
        seconds=12.5,
        state=RecordingState.FAILED,
        error="Could not upload to bucket shows: the secret does not match the access key; "
        "check the secret (SignatureDoesNotMatch: …)",
        note="Stopped at the 1 h limit (AUDIO_RECORDING_MAX_SECONDS).",
        created_at=timezone.now(),
    )
    return session


@pytest.mark.parametrize("persona", ["producer", "admin", "support"])
def test_it_lists_the_recordings(client, request, persona: str, recorded: AudioSession) -> None:
    client.force_login(request.getfixturevalue(persona))

    response = client.get(session_url(recorded))

    text = text_of(response)
    assert response.status_code == 200
    assert "The mix is recorded to Shows and uploaded when the session ends." in text
    assert (
        f"Shows, bucket shows: audio-sessions/podcast/{recorded.pk}-20261205T080000Z.wav "
        "1.8 MB 60.0 s Uploaded"
    ) in text
    assert "\N{EN DASH} 12.5 s Failed Could not upload to bucket shows: the secret does not" in text
    assert "Stopped at the 1 h limit" in text
    assert SECRET not in response.content.decode()


def test_it_names_a_deleted_profile(client, support, recorded: AudioSession, shows) -> None:
    AudioSession.objects.update(state=AudioSessionState.ENDED)
    actions.delete_storage_profile(None, shows)
    client.force_login(support)

    text = text_of(client.get(session_url(recorded)))

    assert "Shows, bucket shows: audio-sessions/podcast/" in text  # the name was kept
    assert "The mix is recorded to" not in text


def test_it_says_when_a_recording_is_yet_to_come(client, producer, shows) -> None:
    session = AudioSession.objects.create(room_name="podcast", record_to=shows)
    client.force_login(producer)

    text = text_of(client.get(session_url(session)))

    assert "No recording yet: it is uploaded when the session ends." in text


def test_it_says_when_the_mix_is_not_recorded(client, support) -> None:
    session = AudioSession.objects.create(room_name="podcast")
    client.force_login(support)

    text = text_of(client.get(session_url(session)))

    assert "This session's mix is not recorded" in text


def test_it_refuses_the_recordings_to_outsiders(client, outsider, recorded: AudioSession) -> None:
    client.force_login(outsider)

    assert client.get(session_url(recorded)).status_code == 403


# --- the recordings' fragment, polled until the end's upload has come ---------------------------
def recordings_url(session: AudioSession) -> str:
    return reverse("dashboard-audio-recordings", args=[session.pk])


def end(session: AudioSession, *, ago: timedelta = timedelta(0)) -> None:
    ended_at = timezone.now() - ago
    AudioSession.objects.filter(pk=session.pk).update(
        state=AudioSessionState.ENDED, ended_at=ended_at
    )


def test_it_sends_anonymous_visitors_of_the_fragment_to_log_in(client, recorded) -> None:
    response = client.get(recordings_url(recorded))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_refuses_the_fragment_to_outsiders(client, outsider, recorded) -> None:
    client.force_login(outsider)

    assert client.get(recordings_url(recorded)).status_code == 403


def test_it_only_serves_the_fragment_by_get(client, producer, recorded) -> None:
    client.force_login(producer)

    assert client.post(recordings_url(recorded)).status_code == 405


@pytest.mark.parametrize("persona", ["producer", "support"])
def test_it_polls_while_the_recording_is_to_come(client, request, persona, shows) -> None:
    session = AudioSession.objects.create(room_name="podcast", record_to=shows)
    end(session)
    client.force_login(request.getfixturevalue(persona))

    response = client.get(recordings_url(session))

    assert response.status_code == 200
    assert f'hx-get="{recordings_url(session)}" hx-trigger="every 3s"' in response.content.decode()
    assert "No recording yet: it is uploaded when the session ends." in text_of(response)


def test_it_stops_polling_once_the_recording_came(client, producer, recorded) -> None:
    end(recorded, ago=timedelta(seconds=30))
    AudioRecording.objects.update(created_at=timezone.now())
    client.force_login(producer)

    response = client.get(recordings_url(recorded))

    assert response.status_code == 286
    assert "hx-get" not in response.content.decode()
    assert "Uploaded" in text_of(response)


def test_it_stops_waiting_for_a_recording_that_never_came(client, producer, shows) -> None:
    session = AudioSession.objects.create(room_name="podcast", record_to=shows)
    end(session, ago=timedelta(minutes=11))
    client.force_login(producer)

    response = client.get(recordings_url(session))

    assert response.status_code == 286
    assert "No recording came: no audio was mixed" in text_of(response)


def test_it_polls_a_running_recorded_session_slowly(client, producer, recorded) -> None:
    client.force_login(producer)

    html = client.get(session_url(recorded)).content.decode()

    assert f'hx-get="{recordings_url(recorded)}" hx-trigger="every 30s"' in html


def test_it_never_polls_an_unrecorded_session(client, producer) -> None:
    session = AudioSession.objects.create(room_name="podcast")
    client.force_login(producer)

    assert client.get(recordings_url(session)).status_code == 286
    assert recordings_url(session) not in client.get(session_url(session)).content.decode()
