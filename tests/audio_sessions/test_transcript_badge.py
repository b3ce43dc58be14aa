"""The transcript's state on the session page (issue 15): the badge of the Transcripts section
and the engine's state beside the captions say the same, are right when the page renders
(a transcription its session outlived is over, not "waiting for audio"), come in the socket's
snapshot, and follow the engine as it changes (pushed over the page's websocket, as captions
are). Deepgram cannot be reached from here: its stand-in (tests/transcribe/standins.py) plays it.
"""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from django.urls import reverse

from dashboard import publisher
from egress_app.actions.transcription import TranscriptionSink
from egress_app.audio.mixer import Mixer
from egress_app.models import AudioSession, AudioSessionState, EngineKind, Transcription
from egress_app.transcribe import registry
from tests.audio_sessions.test_transcription import KEY, podcast, started_sink, tone
from tests.audio_sessions.test_transcription_gaps import with_profile
from tests.live.test_consumer import WAIT, following, prepare, socket, sync
from tests.transcribe import here
from tests.transcribe.standins import DeepgramStandIn

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def asgi_loaded(transactional_db, settings) -> None:
    settings.WEBSOCKET_ALLOWED_ORIGINS = ["http://testserver"]
    prepare()
    publisher._followed_at.clear()


def badge(html: str, transcription: Transcription) -> str:
    """The text of the transcript's badge in `html` (tags dropped)."""
    found = re.search(rf'<span id="transcript-{transcription.pk}-state".*?</span></span>', html)
    assert found, f"no badge of transcript {transcription.pk}"
    return re.sub(r"<[^>]+>", "", found.group(0)).strip()


def engine_state(html: str) -> str:
    found = re.search(r'<span id="transcription-state".*?>(.*?)</span>(?=\s*(·|<span id|$))', html)
    assert found, "no engine state"
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def page(client, session: AudioSession) -> str:
    return client.get(reverse("dashboard-audio-session", args=[session.pk])).content.decode()


def test_it_renders_the_engines_state_in_the_badge_too(client, producer) -> None:
    session = podcast(producer)
    transcription = Transcription.objects.get()
    Transcription.objects.update(state="live")
    client.force_login(producer)
    html = page(client, session)
    assert badge(html, transcription) == "live"
    assert engine_state(html) == "live"


def test_it_renders_a_transcription_its_session_outlived_as_ended(client, producer) -> None:
    # The session stopped before its processor ever opened the engine: nothing will end it.
    session = podcast(producer)
    transcription = Transcription.objects.get()
    Transcription.objects.update(state="waiting for audio")
    AudioSession.objects.update(state=AudioSessionState.ENDED)
    client.force_login(producer)
    html = page(client, session)
    assert badge(html, transcription) == "Ended"
    assert engine_state(html) == "ended"
    assert "waiting for audio" not in html


async def test_it_sends_the_badges_as_they_are_when_the_socket_connects(producer) -> None:
    session = await sync(podcast, producer)
    transcription = await sync(Transcription.objects.get)
    # The engine went live after the page rendered, before its socket connected.
    await sync(Transcription.objects.update, state="live")
    async with socket(f"view=audio&id={session.pk}", producer) as (connected, communicator):
        assert connected
        snapshot = await communicator.receive_from(timeout=WAIT)
    assert badge(snapshot, transcription) == "live"
    assert 'id="transcription-state" class="transcription-state" hx-swap-oob="true"' in snapshot


def live_then_ended(sink: TranscriptionSink) -> None:
    """Ticks until the engine is live, a little more, then the session's end."""
    mixer = Mixer()
    for tap in sink.speakers:
        mixer.push(tap, tone(1.0))
    deadline = time.monotonic() + WAIT
    while not any(state.text == "live" for state in sink.states.values()):  # pushed
        assert time.monotonic() < deadline, "the engine never went live"
        sink.write(mixer.tick())
        time.sleep(0.05)
    sink.write(mixer.tick())
    sink.close(ended=True)


async def test_it_pushes_the_badge_as_the_engine_changes(producer, monkeypatch) -> None:
    with DeepgramStandIn(KEY).running() as standin:
        monkeypatch.setattr(here, "BASE", standin.url)
        monkeypatch.setitem(registry.ENGINES, "deepgram", "tests.transcribe.here:DeepgramHere")
        session = await sync(podcast, producer, engine=EngineKind.DEEPGRAM)
        await sync(with_profile, session, EngineKind.DEEPGRAM)
        transcription = await sync(Transcription.objects.get)
        async with following(f"view=audio&id={session.pk}", producer) as communicator:
            sink = await sync(started_sink, session.pk)
            await asyncio.to_thread(live_then_ended, sink)
            pushed: list[str] = []
            while not pushed or "Ended" not in pushed[-1]:
                pushed.append(await communicator.receive_from(timeout=WAIT))
    states = [p for p in pushed if f'id="transcript-{transcription.pk}-state"' in p]
    # The stream says "ended" as it closes, then the transcription ends: the same to readers.
    # A local stand-in may answer before the first tick's state is read: "connecting" may pass.
    said = [(badge(p, transcription), engine_state(p)) for p in states]
    said = said[1:] if said[0] == ("connecting", "connecting") else said
    assert said[0] == ("live", "live")
    assert set(said[1:]) == {("Ended", "ended")}
    assert all('hx-swap-oob="true"' in p for p in states)
    assert KEY not in "".join(pushed)
    assert standin.violations == []
