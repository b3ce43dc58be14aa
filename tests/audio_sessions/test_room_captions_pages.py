"""Asking for captions in the room when starting (off by default; producers and admins only,
audited) and what the session page says about it, against the sandbox."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from pytest_django.fixtures import Settings

from egress_app.models import (
    AudioSession,
    AuditEntry,
    AuditTarget,
    EngineKind,
    EngineProfile,
    Transcription,
)
from egress_app.sandbox.testing import RunningSandbox
from tests.audio_sessions.test_transcription_pages import card
from tests.dashboard.test_home import text_of

pytestmark = pytest.mark.django_db

LISTEN = reverse("dashboard-audio-listen")
HOME_LIVE = reverse("dashboard-home-live")
ASKED = {"room": "podcast", "transcribe_with": "default", "publish_captions": "1"}


@pytest.fixture(autouse=True)
def nowhere(settings: Settings, closed_port_url: str) -> None:
    # Nothing listens there: the taps' egress fail to dial, which these tests do not mind.
    settings.AUDIO_INGEST_URL = closed_port_url.replace("http", "ws", 1)


@pytest.fixture
def builtin() -> EngineProfile:
    return EngineProfile.objects.create(
        name="Built-in (offline)", kind=EngineKind.BUILTIN, is_default=True
    )


def test_it_offers_publishing_unchecked_beside_both_ways_to_transcribe(
    client, producer: User, builtin, sandbox: RunningSandbox
) -> None:
    client.force_login(producer)

    podcast = card(client.get(HOME_LIVE).content.decode())

    boxes = podcast.count('<input type="checkbox" name="publish_captions" value="1"')
    assert boxes == 2  # in the Listen form (with an engine picked) and the Transcribe form
    assert 'name="publish_captions" value="1" checked' not in podcast
    assert "<code>egress-dashboard.caption</code>" in podcast


@pytest.mark.parametrize("persona", ["producer", "admin"])
def test_it_publishes_captions_when_asked_and_audits_it(
    client, request, persona: str, sandbox: RunningSandbox
) -> None:
    client.force_login(request.getfixturevalue(persona))

    client.post(LISTEN, ASKED)

    session = AudioSession.objects.get()
    assert Transcription.objects.get(session=session).publish_to_room
    entry = AuditEntry.objects.get(target_type=AuditTarget.AUDIO_SESSION, target_id=session.pk)
    assert entry.outcome == (
        "2 taps; transcribing with Built-in (no engine profile), captions published into the room"
    )


def test_it_does_not_publish_unless_asked(client, producer, sandbox: RunningSandbox) -> None:
    client.force_login(producer)

    client.post(LISTEN, {"room": "podcast", "transcribe_with": "default"})

    assert not Transcription.objects.get().publish_to_room


def test_it_refuses_publishing_without_a_transcription_in_plain_words(
    client, producer, sandbox: RunningSandbox
) -> None:
    client.force_login(producer)

    response = client.post(LISTEN, {**ASKED, "transcribe_with": ""}, follow=True)

    assert "Publishing captions into the room needs a transcription" in text_of(response)
    assert not AudioSession.objects.exists()
    assert sandbox.control.egresses() == []


@pytest.mark.parametrize("persona", ["support", "outsider"])
def test_it_refuses_it_to_support_and_outsiders(
    client, request, persona: str, sandbox: RunningSandbox
) -> None:
    client.force_login(request.getfixturevalue(persona))

    response = client.post(LISTEN, ASKED)

    assert response.status_code == 403
    assert not Transcription.objects.exists()


def test_it_sends_anonymous_visitors_to_log_in(client) -> None:
    response = client.post(LISTEN, ASKED)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not AudioSession.objects.exists()


@pytest.mark.parametrize("persona", ["producer", "admin", "support"])
def test_it_shows_how_publishing_goes_on_the_session_page(
    client, request, persona: str, producer
) -> None:
    session = AudioSession.objects.create(room_name="podcast", started_by=producer)
    transcription = Transcription.objects.create(
        session=session, engine="builtin", profile_name="Built-in", publish_to_room=True
    )
    page = reverse("dashboard-audio-session", args=[session.pk])
    client.force_login(request.getfixturevalue(persona))

    working = text_of(client.get(page))
    transcription.room_error = "LiveKit refused (not_found: requested room does not exist)."
    transcription.save()
    failing = text_of(client.get(page))

    assert "each final caption is published into the room" in working
    assert "Failing LiveKit refused (not_found: requested room does not exist)." in failing


def test_it_says_nothing_of_the_room_when_not_publishing(client, producer) -> None:
    session = AudioSession.objects.create(room_name="podcast", started_by=producer)
    Transcription.objects.create(session=session, engine="builtin", profile_name="Built-in")
    client.force_login(producer)

    html = client.get(reverse("dashboard-audio-session", args=[session.pk])).content.decode()

    assert "room-captions-state" not in html
