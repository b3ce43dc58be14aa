"""Transcribing a session (issue 15): the transcription sink fed real mixer ticks of the
sandbox's podcast voices, one track per participant, with the built-in engine; what it stores
(utterances per speaker) and what it pushes over the session page's websocket; and engines that
fail, which say so in their own words and never take the taps down."""

from __future__ import annotations

import asyncio
import wave
from datetime import timedelta

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.db import OperationalError
from django.urls import reverse
from django.utils import timezone

from dashboard import publisher
from egress_app.actions.transcription import TranscriptionSink, transcription_sink
from egress_app.audio.mixer import Mixer, Tick
from egress_app.models import (
    AudioSession,
    AudioTap,
    EngineKind,
    EngineProfile,
    TranscriptGap,
    Transcription,
    Utterance,
)
from egress_app.transcribe import registry
from tests.leaked import ENGINE_KEY, found_in
from tests.live.test_consumer import WAIT, following, prepare, sync
from tests.transcribe import here
from tests.transcribe.speech import ASSETS, recognised
from tests.transcribe.standins import DeepgramStandIn, GladiaStandIn

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

SPEAKERS = ("host", "guest")
KEY = "gl-3f9a8c7e6d5b4a3928171605f4e3d2c1"


@pytest.fixture(autouse=True)
def asgi_loaded(transactional_db, settings) -> None:
    settings.WEBSOCKET_ALLOWED_ORIGINS = ["http://testserver"]
    prepare()
    publisher._followed_at.clear()


def podcast(producer: User, engine: str = EngineKind.BUILTIN) -> AudioSession:
    """A podcast session with a tap per speaker, transcription asked for."""
    session = AudioSession.objects.create(room_name="podcast", started_by=producer)
    for name in SPEAKERS:
        AudioTap.objects.create(
            session=session,
            participant_identity=name,
            participant_name=name.title(),
            track_sid=f"TR_{name}",
            token_hash="x" * 64,
            token_expires_at=timezone.now() + timedelta(minutes=3),
        )
    Transcription.objects.create(session=session, engine=engine, profile_name="Demo engine")
    return session


def transcribed_by(session: AudioSession, kind: str, key: str, **config: str) -> EngineProfile:
    """A profile of `kind` holding `key`, the one `session`'s transcription uses."""
    profile = EngineProfile(name=kind.title(), kind=kind, config=config)
    profile.set_secrets({"api_key": key})
    profile.save()
    Transcription.objects.update(profile=profile, profile_name=profile.name)
    return profile


def speech(session: AudioSession, seconds: float) -> list[Tick]:
    """The real mixer's ticks of each speaker's sentences on their tap's track."""
    mixer = Mixer()
    for tap in session.taps.all():
        with wave.open(str(ASSETS / f"{tap.participant_identity}.wav"), "rb") as asset:
            mixer.push(str(tap.pk), memoryview(asset.readframes(asset.getnframes())).cast("h"))
    return [mixer.tick() for _ in range(int(seconds * 10))]


def drive(sink: TranscriptionSink, ticks: list[Tick]) -> None:
    """As the processor does: every tick written, then closed as the session ends (given the
    time to decode it all: written faster than real time, it is all still to decode)."""
    sink.close_seconds = 60
    for tick in ticks:
        sink.write(tick)
    sink.close(ended=True)


def started_sink(session_id: int) -> TranscriptionSink:
    sink = transcription_sink(AudioSession.objects.get(pk=session_id))
    assert sink is not None
    return sink


async def pushes_until(socket, words: str) -> list[str]:
    pushed: list[str] = []
    while not pushed or words not in pushed[-1]:
        pushed.append(await socket.receive_from(timeout=WAIT))
    return pushed


async def test_it_stores_each_speakers_words_and_pushes_captions(producer):
    session = await sync(podcast, producer)
    ticks = await sync(speech, session, 7.0)
    async with following(f"view=audio&id={session.pk}", producer) as socket:
        sink = await sync(started_sink, session.pk)
        await asyncio.to_thread(drive, sink, ticks)  # a thread of its own, as the processor's

        pushed = "\n".join(await pushes_until(socket, ">ended<"))

    for name in SPEAKERS:
        tap = await sync(AudioTap.objects.get, session=session, participant_identity=name)
        said = await sync(list, Utterance.objects.filter(tap=tap))
        assert len(said) == 2  # a final per sentence, cut at the pause
        assert recognised(name, " ".join(u.text for u in said)) >= 0.7, [u.text for u in said]
        assert all(u.speaker_identity == name for u in said)
        assert all(u.speaker_name == name.title() for u in said)
        assert all(0 <= u.start_seconds < u.end_seconds < 10 for u in said)
        assert all(session.created_at <= u.started_at < u.ended_at for u in said)
        assert f'data-replaces="partial-{tap.pk}"' in pushed  # a final ends the grey line
        assert f'class="caption partial" data-line="partial-{tap.pk}"' in pushed
        assert f'<strong class="speaker">{name.title()}</strong>' in pushed
    first = await sync(Utterance.objects.earliest, "start_seconds")
    assert f'data-line="utterance-{first.pk}"' in pushed
    assert 'id="transcription-state"' in pushed
    transcription = await sync(Transcription.objects.get)
    assert transcription.state == "ended"
    assert transcription.ended_at is not None
    assert transcription.error == ""


def test_it_stores_a_cloud_engines_finals_under_the_right_speaker(producer, monkeypatch) -> None:
    # Deepgram takes every participant in one stream: its channel_index must come back as the
    # tap that spoke. The stand-in hears a tone as "hello world".
    with DeepgramStandIn(KEY).running() as standin:
        here.dial(monkeypatch, here.DeepgramHere, standin.url)
        session = podcast(producer, engine=EngineKind.DEEPGRAM)
        transcribed_by(session, EngineKind.DEEPGRAM, KEY, language="en")
        guest = session.taps.get(participant_identity="guest")
        sink = started_sink(session.pk)

        mixer = Mixer()
        for tap in session.taps.all():
            speaks = tap == guest
            mixer.push(str(tap.pk), tone(1.0) if speaks else np.zeros(16_000, np.int16))
        for _ in range(15):
            sink.write(mixer.tick())
        sink.close(ended=True)

    assert standin.violations == []
    assert standin.sessions[0].query["channels"] == "2"
    [said] = Utterance.objects.all()
    assert (said.text, said.speaker_identity, said.speaker_name) == (
        "hello world",
        "guest",
        "Guest",
    )
    assert said.tap == guest
    assert said.language == "en"
    transcription = Transcription.objects.get()
    assert (transcription.state, transcription.error) == ("ended", "")


def test_it_stores_a_final_on_a_later_tick_when_the_database_was_busy(
    producer, monkeypatch
) -> None:
    # SQLite answers "database table is locked" while another connection writes (the browser
    # tests' server met it): the final waits for the next tick instead of being lost.
    with DeepgramStandIn(KEY).running() as standin:
        here.dial(monkeypatch, here.DeepgramHere, standin.url)
        session = podcast(producer, engine=EngineKind.DEEPGRAM)
        transcribed_by(session, EngineKind.DEEPGRAM, KEY)
        sink = started_sink(session.pk)
        store, busy = sink._store, [True]

        def first_busy(*args: object) -> Utterance:
            if busy.pop() if busy else False:
                raise OperationalError("database table is locked")
            return store(*args)  # type: ignore[arg-type]

        monkeypatch.setattr(sink, "_store", first_busy)
        mixer = Mixer()
        for tap in session.taps.all():
            mixer.push(str(tap.pk), tone(1.0))
        for _ in range(15):
            sink.write(mixer.tick())
        sink.close(ended=True)

    assert busy == []  # it was busy once
    assert Utterance.objects.count() == 2  # both speakers' finals, the delayed one included
    assert Transcription.objects.get().state == "ended"


def tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * 16_000)) / 16_000
    return (3000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)


def test_it_shows_an_engines_refusal_in_its_words_and_keeps_writing(
    client, producer, support, monkeypatch
) -> None:
    with GladiaStandIn("another-key").running() as standin:  # refuses KEY
        here.dial(monkeypatch, here.GladiaHere, standin.api)
        session = podcast(producer, engine=EngineKind.GLADIA)
        transcribed_by(session, EngineKind.GLADIA, KEY)
        sink = started_sink(session.pk)

        for tick in speech(session, 1.0):
            sink.write(tick)  # never raises: the processor keeps the other sinks and the taps
        sink.close(ended=True)

    assert len(standin.inits) == 1
    assert standin.sessions == []  # refused at the init request: no retry, no websocket
    transcription = Transcription.objects.get()
    assert transcription.error == "failed: HTTP 401: Invalid or missing x-gladia-key"
    client.force_login(support)
    page = client.get(reverse("dashboard-audio-session", args=[session.pk])).content.decode()
    assert "HTTP 401: Invalid or missing x-gladia-key" in page
    assert 'class="transcription-state failed"' in page


def test_it_stops_an_engine_that_breaks_down_without_raising(producer, monkeypatch) -> None:
    monkeypatch.setitem(registry.ENGINES, "builtin", "tests.transcribe.broken:CrashingEngine")
    session = podcast(producer)
    sink = started_sink(session.pk)

    for tick in speech(session, 0.5):
        sink.write(tick)
    sink.close(ended=True)

    error = Transcription.objects.get().error
    assert error == "failed: the engine broke down (the engine's socket broke)"


def test_it_hides_the_profiles_key_from_an_engines_words(producer, monkeypatch, caplog) -> None:
    monkeypatch.setitem(registry.ENGINES, "builtin", "tests.transcribe.broken:LeakyEngine")
    session = podcast(producer)
    transcribed_by(session, EngineKind.BUILTIN, ENGINE_KEY)
    sink = started_sink(session.pk)

    for tick in speech(session, 0.3):
        sink.write(tick)
    sink.close(ended=True)

    error = Transcription.objects.get().error
    assert error == "failed: the key [hidden] ([hidden], [hidden]) is not valid"
    assert found_in(caplog.text, ENGINE_KEY) == []
    [gap] = TranscriptGap.objects.all()
    assert gap.reason == "the key [hidden] ([hidden], [hidden]) is not valid"


def test_it_says_when_the_engines_profile_is_gone(producer) -> None:
    session = podcast(producer, engine=EngineKind.DEEPGRAM)  # a cloud engine, its profile gone

    assert transcription_sink(session) is None

    error = Transcription.objects.get().error
    assert error == "failed: the engine profile chosen for this transcription was deleted"


def test_it_transcribes_nothing_unless_asked(producer) -> None:
    session = AudioSession.objects.create(room_name="podcast", started_by=producer)

    assert transcription_sink(session) is None
