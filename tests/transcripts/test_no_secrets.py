"""An engine profile's key never leaves the server, along every path it could take.

The key reaches the engine (a Gladia stand-in, tests/transcribe/standins.py) and the engine
refuses it quoting it back, as it is, URL-encoded and in capitals. Those words then travel: into
the transcription's state and error, the session page and its websocket frames, the transcript
pages and exports (JSON included), the profile's pages and its Test result, the audit log, and
the logs. The key may show in none of them in any form (tests/leaked.py: any case, URL-encoded,
base64-encoded), nor anywhere in the database but the encrypted column.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from egress_app import actions
from egress_app.models import AudioSession, EngineKind, EngineProfile, Transcription
from tests.audio_sessions.test_transcription import (
    asgi_loaded,  # noqa: F401  (autouse here too: the session page's websocket needs it)
    drive,
    podcast,
    pushes_until,
    speech,
    started_sink,
)
from tests.leaked import ENGINE_KEY, found_in
from tests.live.test_consumer import following, sync
from tests.test_no_secret_leaks import database_text, everything_in
from tests.transcribe import here
from tests.transcribe.standins import GladiaStandIn
from tests.transcripts.conftest import PODCAST, say

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

REFUSED = "Invalid x-gladia-key: the key [hidden] ([hidden], [hidden]) is not valid"


@pytest.fixture
def gladia(monkeypatch) -> Iterator[GladiaStandIn]:
    """Gladia's engine dialling a stand-in that refuses the profile's key, echoing it."""
    with GladiaStandIn("another-key", echo_key=True).running() as standin:
        here.dial(monkeypatch, here.GladiaHere, standin.api)
        yield standin


@pytest.fixture
def profile(gladia, admin) -> EngineProfile:
    return actions.create_engine_profile(
        admin,
        name="Gladia EU",
        kind=EngineKind.GLADIA,
        config={"model": "solaria-1", "region": "eu-west"},
        secrets={"api_key": ENGINE_KEY},
    )


def refused_session(producer: User, profile: EngineProfile) -> AudioSession:
    """A podcast session the profile transcribes: the engine refuses it, quoting the key."""
    session = podcast(producer, engine=EngineKind.GLADIA)
    Transcription.objects.update(profile=profile, profile_name=profile.name)
    drive(started_sink(session.pk), speech(session, 1.0))
    return session


def pages(client: Client, session: AudioSession, profile: EngineProfile) -> list[str]:
    """Every page and file that shows the transcription, its transcript or the profile."""
    transcription = session.transcriptions.get()
    pk = transcription.pk
    urls = [
        reverse("dashboard-audio-session", args=[session.pk]),
        reverse("dashboard-audio-live", args=[session.pk]),
        reverse("dashboard-transcript-list"),
        reverse("dashboard-transcript-list") + "?words=rivers",
        reverse("dashboard-transcript-detail", args=[pk]),
        reverse("dashboard-transcript-delete", args=[pk]),
        reverse("dashboard-engine-list"),
        reverse("dashboard-engine-edit", args=[profile.pk]),
        reverse("dashboard-engine-delete", args=[profile.pk]),
        reverse("dashboard-audit") + "?target_type=engine_profile",
    ]
    seen = [everything_in(client.get(url)) for url in urls]
    for form in ("txt", "srt", "vtt", "json"):
        response = client.get(reverse("dashboard-transcript-download", args=[pk, form]))
        with pytest.warns(Warning, match="consume asynchronous iterators"):
            seen.append(b"".join(response).decode())
    return seen


def test_it_never_lets_an_engines_key_out_of_the_server(
    client, admin, producer, support, profile, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    session = refused_session(producer, profile)
    transcription = session.transcriptions.get()
    assert transcription.error == f"failed: HTTP 401: {REFUSED}"
    say(transcription, PODCAST)

    client.force_login(admin)
    test = reverse("dashboard-engine-test", args=[profile.pk])
    seen = [everything_in(client.post(test, headers={"HX-Request": "true"}))]
    seen.append(everything_in(client.post(test)))  # the edit page with the result
    for user in (admin, producer, support):
        client.force_login(user)
        seen += pages(client, session, profile)

    assert all(text.startswith("200") for text in seen[:2])
    assert any(REFUSED in text for text in seen[:2])  # the Test showed the engine's words
    assert any(REFUSED in text for text in seen[2:])  # and so did the session page
    assert any("Today we talk about rivers." in text for text in seen)
    places = {f"response {number}": text for number, text in enumerate(seen)}
    places["the database"] = database_text()
    places["the logs"] = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    leaked = {where: found_in(text, ENGINE_KEY) for where, text in places.items()}
    assert {where: forms for where, forms in leaked.items() if forms} == {}


async def test_it_never_sends_an_engines_key_over_the_session_pages_websocket(
    producer, profile
) -> None:
    session = await sync(podcast, producer, EngineKind.GLADIA)
    await sync(Transcription.objects.update, profile=profile, profile_name=profile.name)
    ticks = await sync(speech, session, 1.0)
    async with following(f"view=audio&id={session.pk}", producer) as socket:
        sink = await sync(started_sink, session.pk)
        await asyncio.to_thread(drive, sink, ticks)  # a thread of its own, as the processor's
        frames = await pushes_until(socket, "is not valid")

    assert REFUSED in frames[-1]
    assert [found_in(frame, ENGINE_KEY) for frame in frames] == [[]] * len(frames)
