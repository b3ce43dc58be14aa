"""Final captions published into the room (issue 15, SendData): the transcription sink fed real
mixer ticks, its engine the Deepgram stand-in (it hears each speaker's tone as "hello world"),
against the sandbox, which records the data packets it is sent. A refusal shows on the session
page in plain words with its Twirp code, and the captions go on."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import pytest
from django.urls import reverse

from egress_app.actions.room_captions import TOPIC
from egress_app.actions.transcription import TranscriptionSink
from egress_app.audio.mixer import Mixer, Tick
from egress_app.models import AudioSession, EngineKind, EngineProfile, Transcription, Utterance
from egress_app.sandbox.testing import RunningSandbox
from egress_app.transcribe import registry
from tests.audio_sessions.test_transcription import (
    KEY,
    asgi_loaded,  # noqa: F401  (fixture)
    podcast,
    started_sink,
    tone,
)
from tests.dashboard.test_home import text_of
from tests.live.test_consumer import WAIT, following, sync
from tests.transcribe import here
from tests.transcribe.standins import DeepgramStandIn

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def deepgram(monkeypatch: pytest.MonkeyPatch) -> Iterator[DeepgramStandIn]:
    with DeepgramStandIn(KEY).running() as standin:
        monkeypatch.setattr(here, "BASE", standin.url)
        monkeypatch.setitem(registry.ENGINES, "deepgram", "tests.transcribe.here:DeepgramHere")
        yield standin


@pytest.fixture
async def silent_livekit() -> AsyncIterator[str]:
    """A LiveKit that takes every request and never answers."""
    hung: list[asyncio.StreamWriter] = []

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hung.append(writer)

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    for writer in hung:
        writer.close()
    server.close()
    await server.wait_closed()


def published_session(producer, room: str = "podcast") -> AudioSession:
    """The podcast's two speakers, transcribed by Deepgram, captions into `room`."""
    session = podcast(producer, engine=EngineKind.DEEPGRAM)
    AudioSession.objects.filter(pk=session.pk).update(room_name=room)
    profile = EngineProfile(name="Deepgram", kind=EngineKind.DEEPGRAM)
    profile.set_secrets({"api_key": KEY})
    profile.save()
    Transcription.objects.update(profile=profile, publish_to_room=True)
    return session


def both_speak(session: AudioSession) -> list[Tick]:
    mixer = Mixer()
    for tap in session.taps.all():
        mixer.push(str(tap.pk), tone(1.0))
    return [mixer.tick() for _ in range(15)]


def drive(sink: TranscriptionSink, ticks: list[Tick]) -> None:
    """As the processor does, from a thread of its own."""
    for tick in ticks:
        sink.write(tick)
    sink.close(ended=True)


def test_it_publishes_each_stored_final_with_our_topic(
    producer, deepgram: DeepgramStandIn, sandbox: RunningSandbox
) -> None:
    session = published_session(producer)
    drive(started_sink(session.pk), both_speak(session))  # no processor loop: sent at once

    packets = sandbox.control.data_packets("podcast")
    stored = Utterance.objects.order_by("pk")
    assert len(packets) == stored.count() == 2
    for packet, utterance in zip(packets, stored, strict=True):
        assert (packet.topic, packet.kind) == (TOPIC, "RELIABLE")
        assert set(packet.recipients) == {"host", "guest"}
        assert json.loads(packet.payload) == {
            "type": "caption",
            "id": utterance.pk,
            "identity": utterance.speaker_identity,
            "name": utterance.speaker_name,
            "text": "hello world",
            "start": utterance.started_at.isoformat(timespec="milliseconds")[:-6] + "Z",
            "end": utterance.ended_at.isoformat(timespec="milliseconds")[:-6] + "Z",
            "language": utterance.language,
            "final": True,
        }
    assert Transcription.objects.get().room_error == ""


def test_it_publishes_nothing_unless_asked(
    producer, deepgram: DeepgramStandIn, sandbox: RunningSandbox
) -> None:
    session = published_session(producer)
    Transcription.objects.update(publish_to_room=False)

    drive(started_sink(session.pk), both_speak(session))

    assert Utterance.objects.count() == 2
    assert sandbox.control.data_packets() == []


async def test_it_shows_a_refusal_on_the_session_page_and_captions_go_on(
    producer, client, deepgram: DeepgramStandIn, sandbox: RunningSandbox
) -> None:
    session = await sync(published_session, producer, "gone-room")
    ticks = await sync(both_speak, session)
    async with following(f"view=audio&id={session.pk}", producer) as socket:
        sink = await sync(started_sink, session.pk)  # sends on this loop, as on a processor's
        assert sink.room is not None
        assert sink.room.loop is asyncio.get_running_loop()
        await asyncio.to_thread(drive, sink, ticks)
        pushed: list[str] = []
        while not any(">ended<" in p for p in pushed) or not any("not_found" in p for p in pushed):
            pushed.append(await socket.receive_from(timeout=WAIT))

    said = "\n".join(pushed)
    assert 'id="room-captions-state" class="transcription-state failed" hx-swap-oob' in said
    assert "(LiveKit said not_found): The room does not exist (any more)." in said
    assert said.count('data-line="utterance-') == 2  # both finals still shown
    assert await sync(Utterance.objects.count) == 2
    transcription = await sync(Transcription.objects.get)
    assert "(LiveKit said not_found)" in transcription.room_error
    assert (transcription.state, transcription.error) == ("ended", "")
    await sync(client.force_login, producer)
    page = await sync(client.get, reverse("dashboard-audio-session", args=[session.pk]))
    assert "Failing Captions are not published into the room (LiveKit said not_found)" in (
        text_of(page)
    )
    assert sandbox.control.data_packets() == []


async def test_it_never_holds_captions_up_while_livekit_does_not_answer(
    producer, deepgram: DeepgramStandIn, silent_livekit: str, settings
) -> None:
    settings.LIVEKIT_URL, settings.LIVEKIT_TIMEOUT = silent_livekit, 5.0
    session = await sync(published_session, producer)
    ticks = await sync(both_speak, session)
    async with following(f"view=audio&id={session.pk}", producer) as socket:
        sink = await sync(started_sink, session.pk)
        await asyncio.to_thread(drive, sink, ticks)
        pushed: list[str] = []
        while not any("room-captions-state" in p for p in pushed):
            pushed.append(await socket.receive_from(timeout=WAIT))

    said = "\n".join(pushed)
    # Both finals and the end were pushed before the first SendData gave up: nothing waited.
    assert said.count('data-line="utterance-', 0, said.index("room-captions-state")) == 2
    assert said.index(">ended<") < said.index("room-captions-state")
    assert "(LiveKit said deadline_exceeded)" in said
