"""Starting a transcribed session, as people do it: "Transcribe with" next to Listen and the
Transcribe button on a room's card (producers and admins; support and outsiders refused), and
the captions section of the session page (stored finals, without JavaScript), against the
sandbox."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from pytest_django.fixtures import Settings

from egress_app.actions.transcription import BUILTIN_NAME
from egress_app.models import (
    AudioSession,
    AuditAction,
    AuditEntry,
    AuditTarget,
    EngineKind,
    EngineProfile,
    Transcription,
    Utterance,
)
from egress_app.sandbox.testing import RunningSandbox
from tests.dashboard.test_home import text_of

pytestmark = pytest.mark.django_db

LISTEN = reverse("dashboard-audio-listen")
HOME_LIVE = reverse("dashboard-home-live")


@pytest.fixture(autouse=True)
def nowhere(settings: Settings, closed_port_url: str) -> None:
    # Nothing listens there: the taps' egress fail to dial, which these tests do not mind.
    settings.AUDIO_INGEST_URL = closed_port_url.replace("http", "ws", 1)


@pytest.fixture
def builtin() -> EngineProfile:
    return EngineProfile.objects.create(
        name="Built-in (offline)", kind=EngineKind.BUILTIN, is_default=True
    )


def card(html: str, room: str = "podcast") -> str:
    return html.partition(f'data-room="{room}"')[2].partition("</article>")[0]


# --- the choices on the Live page ---------------------------------------------------------------
def test_it_offers_the_engines_with_the_default_chosen(
    client, producer: User, builtin: EngineProfile, sandbox: RunningSandbox
) -> None:
    other = EngineProfile.objects.create(name="Another", kind=EngineKind.BUILTIN)
    client.force_login(producer)

    podcast = card(client.get(HOME_LIVE).content.decode())

    assert '<select name="transcribe_with">' in podcast
    assert '<option value="">Don\'t transcribe</option>' in podcast
    assert f'<option value="{builtin.pk}" selected>Built-in (offline)</option>' in podcast
    assert f'<option value="{other.pk}">Another</option>' in podcast
    assert '<input type="hidden" name="transcribe_with" value="default">' in podcast
    assert ">Transcribe</button>" in podcast


def test_it_offers_support_neither(client, support, builtin, sandbox: RunningSandbox) -> None:
    client.force_login(support)

    html = client.get(HOME_LIVE).content.decode()

    assert "transcribe_with" not in html
    assert ">Transcribe</button>" not in html


@pytest.mark.parametrize("persona", ["producer", "admin"])
def test_it_transcribes_with_the_default_profile(
    client, request, persona: str, builtin: EngineProfile, sandbox: RunningSandbox
) -> None:
    client.force_login(request.getfixturevalue(persona))

    response = client.post(LISTEN, {"room": "podcast", "transcribe_with": "default"})

    session = AudioSession.objects.get()
    assert response["Location"] == reverse("dashboard-audio-session", args=[session.pk])
    transcription = Transcription.objects.get(session=session)
    assert transcription.profile == builtin
    assert transcription.engine == EngineKind.BUILTIN
    entry = AuditEntry.objects.get(target_type=AuditTarget.AUDIO_SESSION, target_id=session.pk)
    assert entry.action == AuditAction.STARTED
    assert entry.outcome == "2 taps; transcribing with Built-in (offline)"


def test_it_transcribes_with_the_built_in_engine_without_profiles(
    client, producer, sandbox: RunningSandbox
) -> None:
    client.force_login(producer)

    client.post(LISTEN, {"room": "podcast", "transcribe_with": "default"})

    transcription = Transcription.objects.get()
    assert transcription.profile is None
    assert transcription.engine == EngineKind.BUILTIN
    assert transcription.profile_name == BUILTIN_NAME


def test_it_does_not_transcribe_when_told_not_to(
    client, producer, builtin, sandbox: RunningSandbox
) -> None:
    client.force_login(producer)

    client.post(LISTEN, {"room": "podcast", "transcribe_with": ""})

    assert AudioSession.objects.exists()
    assert not Transcription.objects.exists()


@pytest.mark.parametrize("choice", ["deleted", "not-a-number", "99999999999999999999999"])
def test_it_refuses_an_engine_profile_that_does_not_exist_in_plain_words(
    client, producer, choice: str, sandbox: RunningSandbox
) -> None:
    gone = EngineProfile.objects.create(name="Gone", kind=EngineKind.BUILTIN)
    value = str(gone.pk) if choice == "deleted" else choice
    gone.delete()
    client.force_login(producer)

    response = client.post(LISTEN, {"room": "podcast", "transcribe_with": value}, follow=True)

    assert response.status_code == 200
    assert "The engine profile chosen for the transcription does not exist" in text_of(response)
    assert not AudioSession.objects.exists()
    assert sandbox.control.egresses() == []


def test_it_sends_anonymous_visitors_to_log_in(client) -> None:
    response = client.post(LISTEN, {"room": "podcast", "transcribe_with": "default"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not AudioSession.objects.exists()


@pytest.mark.parametrize("persona", ["support", "outsider"])
def test_it_refuses_transcription_to_support_and_outsiders(
    client, request, persona: str, builtin, sandbox: RunningSandbox
) -> None:
    client.force_login(request.getfixturevalue(persona))

    response = client.post(LISTEN, {"room": "podcast", "transcribe_with": "default"})

    assert response.status_code == 403
    assert not AudioSession.objects.exists()
    assert not Transcription.objects.exists()


# --- the captions on the session page -----------------------------------------------------------
@pytest.mark.parametrize("persona", ["producer", "admin", "support"])
def test_it_renders_the_stored_captions(client, request, persona: str, producer) -> None:
    session = AudioSession.objects.create(room_name="podcast", started_by=producer)
    transcription = Transcription.objects.create(
        session=session, engine=EngineKind.BUILTIN, profile_name="Built-in (offline)", state="live"
    )
    now = timezone.now()
    Utterance.objects.create(
        transcription=transcription,
        speaker_identity="host",
        speaker_name="Hana Host",
        start_seconds=1.0,
        end_seconds=2.5,
        started_at=now,
        ended_at=now,
        text="hello and welcome to the podcast",
    )
    client.force_login(request.getfixturevalue(persona))

    html = client.get(reverse("dashboard-audio-session", args=[session.pk])).content.decode()

    assert 'aria-live="polite"' in html
    assert '<strong class="speaker">Hana Host</strong>' in html
    assert "hello and welcome to the podcast" in html
    assert "English only, low accuracy" in html
    assert now.astimezone(timezone.get_current_timezone()).strftime("%H:%M:%S") in html


def test_it_says_when_a_session_is_not_transcribed(client, producer) -> None:
    session = AudioSession.objects.create(room_name="podcast", started_by=producer)
    client.force_login(producer)

    html = client.get(reverse("dashboard-audio-session", args=[session.pk])).content.decode()

    assert "This session is not transcribed" in html
