"""Transcripts made with the models directly (never through an engine): a podcast session with
two speakers taking turns, and a helper for more."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from egress_app.models import AudioSession, EngineKind, Transcription, Utterance

STARTED = datetime(2026, 12, 5, 16, 0, 0, tzinfo=UTC)


def make_transcript(
    room: str = "podcast",
    *,
    started_by: User | None = None,
    created_at: datetime = STARTED,
    engine: str = EngineKind.BUILTIN,
    lines: Sequence[tuple[str, str]] = (),  # (identity, text)
    seconds_apart: float = 2.5,
) -> Transcription:
    session = AudioSession.objects.create(room_name=room, started_by=started_by)
    transcription = Transcription.objects.create(
        session=session,
        engine=engine,
        profile_name="Built-in" if engine == EngineKind.BUILTIN else engine.title(),
        language="en",
        state="live",
        created_at=created_at,
    )
    say(transcription, lines, seconds_apart=seconds_apart)
    return transcription


def say(
    transcription: Transcription, lines: Sequence[tuple[str, str]], *, seconds_apart: float = 2.5
) -> list[Utterance]:
    """Utterances after those already there, one every `seconds_apart`, each 2 s long."""
    offset = transcription.utterances.count() * seconds_apart
    made = []
    for number, (identity, text) in enumerate(lines):
        start = offset + number * seconds_apart
        at = transcription.created_at + timedelta(seconds=start)
        made.append(
            Utterance(
                transcription=transcription,
                speaker_identity=identity,
                speaker_name=identity.title(),
                start_seconds=start,
                end_seconds=start + 2.0,
                started_at=at,
                ended_at=at + timedelta(seconds=2),
                text=text,
                confidence=0.9,
                language="en",
            )
        )
    return Utterance.objects.bulk_create(made)


PODCAST = [
    ("host", "Welcome to the show."),
    ("host", "Today we talk about rivers."),
    ("guest", "Thanks for having me."),
    ("host", "Where does the water go?"),
]


@pytest.fixture
def podcast(producer: User) -> Transcription:
    return make_transcript(started_by=producer, lines=PODCAST)
