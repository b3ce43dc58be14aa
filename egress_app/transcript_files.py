"""A transcript's downloads: plain text, SRT, WebVTT and JSON, each written a piece at a time
from the utterances' keyset chunks (egress_app.transcripts.chunks), so a long session streams.

Times are from the session's audio start in the subtitle formats (what a player lines up with
the recording), and wall-clock in UTC (stated) in the text and JSON. An utterance's text is one
line in every format: a blank line would end an SRT or WebVTT cue early, and "-->" in a cue
would read as a timing line (WebVTT escapes it as "--&gt;", SRT, which has no escapes, gets
"->").

A gap (audio the engine never heard) sits in its place among them: a line in the text, a cue in
brackets in SRT (which has no comments), a NOTE block in WebVTT, and the `gaps` list in JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from asgiref.sync import sync_to_async

from egress_app import transcripts
from egress_app.models import TranscriptGap, Transcription, Utterance

SPACES = re.compile(r"\s+")
PIECES_AT_ONCE = 200


@dataclass(frozen=True)
class Format:
    key: str  # as the URL names it, and the file's extension
    label: str
    content_type: str


FORMATS = {
    form.key: form
    for form in (
        Format("txt", "Text", "text/plain; charset=utf-8"),
        Format("srt", "SRT subtitles", "application/x-subrip; charset=utf-8"),
        Format("vtt", "WebVTT subtitles", "text/vtt; charset=utf-8"),
        Format("json", "JSON", "application/json"),
    )
}


def one_line(text: str) -> str:
    """The text with every run of spaces, tabs and line breaks as one space."""
    return SPACES.sub(" ", text).strip()


def utc(when: datetime | None) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z") if when else ""


def file_name(transcription: Transcription, form: Format) -> str:
    """room-transcript-2026-12-05-0831-UTC.srt: the room and when it started, in UTC."""
    room = re.sub(r"[^\w.-]+", "-", transcription.session.room_name).strip("-.") or "room"
    started = transcription.created_at.astimezone(UTC)
    return f"{room}-transcript-{started:%Y-%m-%d-%H%M}-UTC.{form.key}"


# --- the formats --------------------------------------------------------------------------------
def _stamp(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _span(utterance: Utterance | TranscriptGap, separator: str) -> str:
    # A cue never ends before it starts, whatever an engine said.
    end = max(utterance.end_seconds, utterance.start_seconds)
    return f"{_stamp(utterance.start_seconds, separator)} --> {_stamp(end, separator)}"


def gap_words(gap: TranscriptGap) -> str:
    """What a gap says, on one line and without a timing arrow: "No transcript of Guest: ..."."""
    who = f" of {gap.speaker}" if gap.speaker else ""
    return one_line(f"No transcript{who}: {gap.reason}").replace("-->", "->")


def _speaker(utterance: Utterance) -> str:
    return one_line(transcripts.speaker_label(utterance.speaker_name, utterance.speaker_identity))


def text_lines(transcription: Transcription) -> Iterator[str]:
    """A reader's transcript: a heading, then each turn with its times and its words."""
    session = transcription.session
    yield f"Transcript of {session.room_name} (audio session {session.pk})\n"
    yield f"Engine: {transcription.profile_name} ({transcription.get_engine_display()})"
    yield f", language: {transcription.language or 'not set'}\n"
    yield f"Started {utc(transcription.created_at)}; times are from the audio start, and in UTC.\n"
    last: str | None = None  # the identity of the turn going on, None after a gap
    for said in transcripts.said_in_order(transcription):
        if isinstance(said, TranscriptGap):
            clock = transcripts.clock
            yield f"\n[{clock(said.start_seconds)}-{clock(said.end_seconds)}, "
            yield f"{utc(said.started_at)} to {utc(said.ended_at)}] {gap_words(said)}\n"
            last = None
            continue
        if said.speaker_identity != last:
            yield f"\n[{transcripts.clock(said.start_seconds)}, {utc(said.started_at)}] "
            yield f"{_speaker(said)}:\n"
            last = said.speaker_identity
        yield f"{one_line(said.text)}\n"


def srt_lines(transcription: Transcription) -> Iterator[str]:
    for number, said in enumerate(transcripts.said_in_order(transcription), start=1):
        if isinstance(said, TranscriptGap):
            text = f"[{gap_words(said)}]"
        else:
            text = one_line(f"{_speaker(said)}: {said.text}").replace("-->", "->")
        yield f"{number}\n{_span(said, ',')}\n{text}\n\n"


def _vtt_escape(text: str) -> str:
    return one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def vtt_lines(transcription: Transcription) -> Iterator[str]:
    yield "WEBVTT\n\n"
    for said in transcripts.said_in_order(transcription):
        if isinstance(said, TranscriptGap):  # a comment: players show nothing for it
            span = _span(said, ".").replace("-->", "to")
            yield f"NOTE {span} {gap_words(said)}\n\n"
            continue
        voice = _vtt_escape(_speaker(said))
        yield f"{_span(said, '.')}\n<v {voice}>{_vtt_escape(said.text)}</v>\n\n"


def _utterance_json(utterance: Utterance) -> dict[str, Any]:
    return {
        "speaker_identity": utterance.speaker_identity,
        "speaker_name": utterance.speaker_name,
        "start_seconds": utterance.start_seconds,
        "end_seconds": utterance.end_seconds,
        "started_at": utc(utterance.started_at),
        "ended_at": utc(utterance.ended_at),
        "text": utterance.text,
        "confidence": utterance.confidence,
        "language": utterance.language,
    }


def _gap_json(gap: TranscriptGap) -> dict[str, Any]:
    return {
        "speaker_identity": gap.speaker_identity,
        "speaker_name": gap.speaker_name,
        "start_seconds": gap.start_seconds,
        "end_seconds": gap.end_seconds,
        "started_at": utc(gap.started_at),
        "ended_at": utc(gap.ended_at),
        "reason": gap.reason,
        "engine": gap.engine,
    }


def json_lines(transcription: Transcription) -> Iterator[str]:
    """One JSON document, written an utterance at a time."""
    head = {
        "transcript": transcription.pk,
        "session": transcription.session_id,
        "room": transcription.session.room_name,
        "engine": transcription.engine,
        "profile": transcription.profile_name,
        "language": transcription.language,
        "state": transcription.state,
        "error": transcription.error,
        "started_at": utc(transcription.created_at),
        "ended_at": utc(transcription.ended_at),
        "speakers": transcripts.speakers(transcription),
    }
    yield json.dumps(head)[:-1] + ', "utterances": ['
    separator = ""
    for chunk in transcripts.chunks(transcription):
        for utterance in chunk:
            yield separator + json.dumps(_utterance_json(utterance))
            separator = ", "
    gaps = transcripts.gaps_between(transcription, None, None)
    yield '], "gaps": [' + ", ".join(json.dumps(_gap_json(gap)) for gap in gaps) + "]}\n"


WRITERS: dict[str, Callable[[Transcription], Iterator[str]]] = {
    "txt": text_lines,
    "srt": srt_lines,
    "vtt": vtt_lines,
    "json": json_lines,
}


async def streamed(transcription: Transcription, form: Format) -> AsyncIterator[str]:
    """The file's pieces, each read off the event loop: an async server sends them as they
    come instead of holding the whole transcript."""
    pieces = WRITERS[form.key](transcription)

    def next_pieces() -> str:  # a few hundred at once: one thread hop each, not one a line
        return "".join(islice(pieces, PIECES_AT_ONCE))

    while text := await sync_to_async(next_pieces)():
        yield text
