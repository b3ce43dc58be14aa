"""What a cloud engine missed, and who joined after it opened (issue 15): a stand-in that drops
the connection mid-session leaves a gap that is stored and shown in the transcript's page and
every download, the taps untouched; a participant whose tap starts after a multichannel stream
opened is transcribed under their own name (Deepgram's stream is opened again with them,
Gladia's eight channels taken, a second session holds them).

The cloud services cannot be reached from here: their local stand-ins
(tests/transcribe/standins.py) check what the real ones check and say what they do not cover."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta

import numpy as np
import pytest
import srt
import webvtt
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from egress_app.actions.transcription import TranscriptionSink
from egress_app.audio.mixer import Mixer
from egress_app.events import Caption
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
from egress_app.transcribe.engines import Gap
from tests.audio_sessions.test_transcription import KEY, podcast, started_sink, tone
from tests.transcribe import here
from tests.transcribe.standins import DeepgramStandIn, GladiaStandIn
from tests.transcripts.test_exports import download

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * 16_000), np.int16)


def until(done: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "it did not happen in time"
        time.sleep(0.02)


def with_profile(session: AudioSession, kind: str) -> None:
    profile = EngineProfile(name=kind.title(), kind=kind, config={"language": "en"})
    profile.set_secrets({"api_key": KEY})
    profile.save()
    Transcription.objects.filter(session=session).update(profile=profile, engine=kind)


def pushes(sink: TranscriptionSink) -> list[Caption]:
    """The captions the sink pushes (still pushed: this only listens)."""
    pushed: list[Caption] = []
    push = sink._push

    def listened(caption: Caption) -> None:
        pushed.append(caption)
        push(caption)

    sink._push = listened  # type: ignore[method-assign]
    return pushed


def late_tap(session: AudioSession, identity: str) -> AudioTap:
    return AudioTap.objects.create(
        session=session,
        participant_identity=identity,
        participant_name=identity.replace("-", " ").title(),
        track_sid=f"TR_{identity}",
        token_hash="y" * 64,
        token_expires_at=timezone.now() + timedelta(minutes=3),
    )


def write(sink: TranscriptionSink, mixer: Mixer, ticks: int, *, pace: float = 0.0) -> None:
    for _ in range(ticks):
        sink.write(mixer.tick())
        time.sleep(pace)


# --- gaps ---------------------------------------------------------------------------------------
@pytest.fixture
def dropped(producer: User, monkeypatch) -> tuple[Transcription, TranscriptionSink, list[Caption]]:
    """A Deepgram-transcribed podcast whose connection drops mid-session for a second, with
    half a second of buffer: a second of the audio that came meanwhile is lost."""
    with DeepgramStandIn(KEY).running() as standin:
        monkeypatch.setattr(here, "BASE", standin.url)
        monkeypatch.setitem(registry.ENGINES, "deepgram", "tests.transcribe.here:DeepgramTight")
        session = podcast(producer, engine=EngineKind.DEEPGRAM)
        with_profile(session, EngineKind.DEEPGRAM)
        sink = started_sink(session.pk)
        pushed = pushes(sink)
        mixer = Mixer()
        for tap in session.taps.all():
            mixer.push(
                str(tap.pk), np.concatenate([tone(0.5), silence(1.5), tone(1.0), silence(1)])
            )
        until(lambda: sink.streams["*"].status.text == "live") if sink.streams else None
        write(sink, mixer, 10, pace=0.05)
        sent = 1.0 * 16_000 * 2 * 2  # all of it: a second of two channels
        until(lambda: len(standin.sessions) == 1 and len(standin.sessions[0].audio) == sent)
        until(lambda: not sink.streams["*"]._speaking)  # type: ignore[attr-defined]
        standin.drop()
        until(lambda: sink.streams["*"].status.text.startswith("reconnecting"))
        write(sink, mixer, 15)  # 1.5 s while away: the last half second waits in the buffer
        until(lambda: len(standin.sessions) == 2)
        write(sink, mixer, 20, pace=0.05)  # at twice real time: nothing more waits for long
        sink.close(ended=True)
    assert standin.violations == []
    assert not sink.broken
    return Transcription.objects.get(session=session), sink, pushed


def test_it_stores_the_gap_a_dropped_connection_left(dropped) -> None:
    transcription, _, pushed = dropped
    [gap] = TranscriptGap.objects.filter(transcription=transcription)
    assert (gap.speaker_identity, gap.speaker_name) == ("", "")  # everyone's stream dropped
    # A second lost, or a tick (0.1 s) more when a slow machine resumes late.
    lost = round(gap.end_seconds - gap.start_seconds, 1)
    assert lost in (1.0, 1.1)
    assert 0.9 <= gap.start_seconds < gap.end_seconds < 3.0
    assert gap.ended_at - gap.started_at == timedelta(seconds=lost)
    assert gap.reason.startswith("Deepgram was away longer than the 0.5 s buffer (reconnecting")
    assert KEY not in gap.reason
    assert gap.engine == "Deepgram live"
    [line] = [caption for caption in pushed if caption.kind == "gap"]  # one line, not one each
    assert line.text == f"{lost:.1f} s not transcribed: {gap.reason}"
    assert (transcription.state, transcription.error) == ("ended", "")


def test_it_shows_the_gap_in_its_place_on_the_transcript_page(client, dropped) -> None:
    transcription, _, _ = dropped
    gap = TranscriptGap.objects.get()
    client.force_login(transcription.session.started_by)
    page = client.get(reverse("dashboard-transcript-detail", args=[transcription.pk]))
    html = page.content.decode()
    assert f'id="gap-{gap.pk}"' in html
    assert "<strong>No transcript</strong>" in html
    assert gap.reason.replace("(", "") in html.replace("(", "")
    utterances = Utterance.objects.order_by("start_seconds")
    before = [u for u in utterances if u.start_seconds < gap.start_seconds]
    after = [u for u in utterances if u.start_seconds >= gap.start_seconds]
    assert before, "the gap should come after the first words"
    assert after, "and before the last"
    here_at = html.index(f'id="gap-{gap.pk}"')
    assert html.index(f'id="utterance-{before[-1].pk}"') < here_at
    assert html.index(f'id="utterance-{after[0].pk}"') > here_at


def test_it_shows_the_gap_among_the_captions_when_the_session_page_opens(client, dropped) -> None:
    transcription, _, _ = dropped
    gap = TranscriptGap.objects.get()
    client.force_login(transcription.session.started_by)
    url = reverse("dashboard-audio-session", args=[transcription.session_id])
    html = client.get(url).content.decode()
    line = html.index(f'<li class="caption gap" data-line="stored-gap-{gap.pk}">')
    assert gap.caption in html[line:]
    first, *_, last = Utterance.objects.order_by("start_seconds")
    assert html.index(f'data-line="utterance-{first.pk}"') < line
    assert html.index(f'data-line="utterance-{last.pk}"') > line


def test_it_writes_the_gap_into_every_download(client, dropped) -> None:
    transcription, _, _ = dropped
    gap = TranscriptGap.objects.get()
    client.force_login(transcription.session.started_by)

    text = download(client, transcription, "txt")[1]
    assert f"No transcript: {gap.reason}" in text

    data = json.loads(download(client, transcription, "json")[1])
    assert [g["reason"] for g in data["gaps"]] == [gap.reason]
    assert data["gaps"][0]["start_seconds"] == gap.start_seconds
    assert KEY not in json.dumps(data)

    cues = list(srt.parse(download(client, transcription, "srt")[1]))
    assert f"[No transcript: {gap.reason}]" in [cue.content for cue in cues]
    assert [cue.start for cue in cues] == sorted(cue.start for cue in cues)

    vtt = download(client, transcription, "vtt")[1]
    captions = webvtt.from_string(vtt).captions
    assert len(captions) == Utterance.objects.count()  # the gap is a NOTE, not a cue
    assert "\nNOTE 00:00:" in vtt
    assert f"No transcript: {gap.reason}" in vtt


def test_it_marks_the_words_a_dropped_connection_took_with_it(producer, monkeypatch) -> None:
    # Deepgram starts afresh on a new connection: what the guest was saying when it dropped
    # (partials heard, no final yet) is lost, however quickly it reconnects.
    with DeepgramStandIn(KEY).running() as standin:
        monkeypatch.setattr(here, "BASE", standin.url)
        monkeypatch.setitem(registry.ENGINES, "deepgram", "tests.transcribe.here:DeepgramHere")
        session = podcast(producer, engine=EngineKind.DEEPGRAM)
        with_profile(session, EngineKind.DEEPGRAM)
        guest = session.taps.get(participant_identity="guest")
        sink = started_sink(session.pk)
        mixer = Mixer()
        for tap in session.taps.all():
            speaks = tap == guest
            mixer.push(str(tap.pk), tone(2.0) if speaks else silence(2.0))
        write(sink, mixer, 10, pace=0.05)
        stream = sink.streams["*"]
        until(lambda: str(guest.pk) in stream._speaking)  # type: ignore[attr-defined]
        standin.drop()
        until(lambda: len(standin.sessions) == 2)
        write(sink, mixer, 20, pace=0.05)
        sink.close(ended=True)

    assert standin.violations == []
    [gap] = TranscriptGap.objects.all()
    assert (gap.speaker_identity, gap.speaker_name) == ("guest", "Guest")
    assert gap.reason.startswith("the connection to Deepgram dropped mid-sentence (closed by")
    assert gap.end_seconds - gap.start_seconds == pytest.approx(1.0, abs=0.15)
    assert not sink.broken


# --- late joiners -------------------------------------------------------------------------------
def test_it_transcribes_a_participant_who_joins_after_deepgram_opened(
    producer, monkeypatch
) -> None:
    with DeepgramStandIn(KEY).running() as standin:
        monkeypatch.setattr(here, "BASE", standin.url)
        monkeypatch.setitem(registry.ENGINES, "deepgram", "tests.transcribe.here:DeepgramHere")
        session = podcast(producer, engine=EngineKind.DEEPGRAM)
        with_profile(session, EngineKind.DEEPGRAM)
        sink = started_sink(session.pk)
        pushed = pushes(sink)
        mixer = Mixer()
        for tap in session.taps.all():
            mixer.push(str(tap.pk), silence(3.0))
        write(sink, mixer, 5)
        until(lambda: len(standin.sessions) == 1)
        late = late_tap(session, "late-comer")
        mixer.push(str(late.pk), np.concatenate([tone(1.0), silence(1.0)]))
        write(sink, mixer, 20)
        sink.close(ended=True)

    assert standin.violations == []
    assert [s.query["channels"] for s in standin.sessions] == ["2", "3"]
    assert len(standin.sessions[1].audio) == 2.0 * 16_000 * 2 * 3  # every tick since it came
    [said] = Utterance.objects.all()
    assert (said.speaker_identity, said.speaker_name, said.tap) == (
        "late-comer",
        "Late Comer",
        late,
    )
    assert said.end_seconds - said.start_seconds == pytest.approx(1.0)  # the tone, whole
    [final] = [c for c in pushed if c.kind == "final" and c.text]
    assert (final.speaker, final.line) == ("Late Comer", f"utterance-{said.pk}")
    assert {c.speaker for c in pushed if c.kind == "partial"} == {"Late Comer"}
    assert not TranscriptGap.objects.exists()  # the switch lost no audio
    assert Transcription.objects.get().state == "ended"


def test_it_opens_another_gladia_session_when_its_eight_channels_are_taken(
    producer, monkeypatch
) -> None:
    with GladiaStandIn(KEY).running() as standin:
        monkeypatch.setattr(here, "BASE", standin.api)
        monkeypatch.setitem(registry.ENGINES, "gladia", "tests.transcribe.here:GladiaHere")
        session = podcast(producer, engine=EngineKind.GLADIA)
        for number in range(6):
            late_tap(session, f"guest-{number}")  # eight before it opens
        with_profile(session, EngineKind.GLADIA)
        sink = started_sink(session.pk)
        mixer = Mixer()
        for tap in session.taps.all():
            mixer.push(str(tap.pk), silence(3.0))
        write(sink, mixer, 5)
        ninth = late_tap(session, "ninth")
        mixer.push(str(ninth.pk), np.concatenate([tone(1.0), silence(1.0)]))
        write(sink, mixer, 20)
        sink.close(ended=True)

    assert standin.violations == []
    assert sorted(body["channels"] for _, body in standin.inits) == [1, 8]  # two sessions
    [said] = Utterance.objects.all()
    assert (said.speaker_identity, said.speaker_name, said.tap) == ("ninth", "Ninth", ninth)
    assert Transcription.objects.get().state == "ended"


def test_it_joins_a_speakers_gaps_that_follow_each_other_into_one(producer) -> None:
    """An engine falling behind on a busy machine misses many short spans: one line and one
    stored gap say it, until the speaker is heard again for longer than GAP_JOIN_SECONDS."""
    session = podcast(producer)
    sink = started_sink(session.pk)
    pushed = pushes(sink)
    stream, tap = object(), session.taps.first()
    sink.opened[id(stream)] = session.created_at
    behind = "the built-in engine fell behind"
    for start, end in [(1.0, 1.2), (1.5, 1.9), (3.0, 3.1), (9.0, 9.4)]:
        sink._gaps(stream, [Gap(str(tap.pk), start, end, behind)])  # type: ignore[arg-type]

    gaps = TranscriptGap.objects.filter(transcription__session=session).order_by("start_seconds")
    assert [(gap.start_seconds, gap.end_seconds) for gap in gaps] == [(1.0, 3.1), (9.0, 9.4)]
    lines = [(caption.line, caption.text) for caption in pushed if caption.kind == "gap"]
    assert lines == [
        ("gap-1", f"0.2 s not transcribed: {behind}"),
        ("gap-1", f"0.9 s not transcribed: {behind}"),  # the same line, replaced in place
        ("gap-1", f"2.1 s not transcribed: {behind}"),
        ("gap-2", f"0.4 s not transcribed: {behind}"),
    ]
