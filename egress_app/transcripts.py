"""Reading transcripts: a transcript as speaker turns, the Transcripts list and its search, and
its utterances a keyset chunk at a time (for the page and for the downloads of long sessions).

Search is PostgreSQL's full-text search on an utterance's words (the 'simple' configuration:
transcripts come in many languages, so words are matched as spoken, without stemming), served
by a GIN index on that expression (migration 0020); SQLite, with no such search, looks for the
words as a part of the text, any case.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Exists, Max, Min, OuterRef, Q, QuerySet

from egress_app import history
from egress_app.models import TranscriptGap, Transcription, Utterance

CHUNK = 1000
SEARCH_CONFIG = "simple"  # as the index of migration 0020 is built; keep both the same
# A transcript newest first; a search's matches newest first (by when they were said).
TRANSCRIPT_ORDER = history.Sort("-created", "Newest first", "created_at", descending=True)
MATCH_ORDER = history.Sort("-said", "Newest first", "started_at", descending=True)
# A transcript's utterances in the order spoken: its page and its downloads.
SPOKEN_ORDER = history.Sort("spoken", "As spoken", "start_seconds", descending=False)


# --- search -------------------------------------------------------------------------------------
def words_vector() -> SearchVector:
    """The expression the GIN index holds: searches must use this very one to be served by it."""
    return SearchVector("text", config=SEARCH_CONFIG)


def matching(utterances: QuerySet[Utterance], words: str) -> QuerySet[Utterance]:
    """The utterances saying `words`: every word of them (PostgreSQL's web-search syntax, so
    "quoted phrases" and -excluded words work), or the words as written (SQLite)."""
    if connection.vendor != "postgresql":
        return utterances.filter(text__icontains=words)
    query = SearchQuery(words, config=SEARCH_CONFIG, search_type="websearch")
    return utterances.annotate(words=words_vector()).filter(words=query)


def _speaker(prefix: str, who: str) -> Q:
    return Q(**{f"{prefix}speaker_name__icontains": who}) | Q(
        **{f"{prefix}speaker_identity__icontains": who}
    )


def filtered_transcripts(
    transcripts: QuerySet[Transcription], filters: Mapping[str, Any]
) -> QuerySet[Transcription]:
    """`transcripts` narrowed by the list's filters (blanks ignored); the days are those they
    were started."""
    if room := filters.get("room"):
        transcripts = transcripts.filter(session__room_name__icontains=room)
    if engine := filters.get("engine"):
        transcripts = transcripts.filter(engine=engine)
    if who := filters.get("speaker"):
        said = Utterance.objects.filter(_speaker("", who), transcription=OuterRef("pk"))
        transcripts = transcripts.filter(Exists(said))
    since, until = filters.get("since"), filters.get("until")
    return transcripts.filter(history.days("created_at", since, until))


def search(transcripts: QuerySet[Transcription], filters: Mapping[str, Any]) -> QuerySet[Utterance]:
    """The utterances of `transcripts` saying the words searched, narrowed by the filters; the
    days are those the words were said."""
    found = Utterance.objects.filter(transcription__in=transcripts.values("pk"))
    found = matching(found, filters["words"]).select_related("transcription__session")
    if room := filters.get("room"):
        found = found.filter(transcription__session__room_name__icontains=room)
    if engine := filters.get("engine"):
        found = found.filter(transcription__engine=engine)
    if who := filters.get("speaker"):
        found = found.filter(_speaker("", who))
    return found.filter(history.days("started_at", filters.get("since"), filters.get("until")))


# --- a transcript, read in order ----------------------------------------------------------------
def chunks(transcription: Transcription) -> Iterator[list[Utterance]]:
    """Every utterance in the order spoken, a keyset chunk (one query) at a time: a long
    session's download never holds the whole transcript."""
    return history.chunks(transcription.utterances.all(), SPOKEN_ORDER, CHUNK)


def speakers(transcription: Transcription) -> list[dict[str, str]]:
    """Who spoke in the transcript (blank identity: the mix), first to speak first."""
    rows = transcription.utterances.order_by().values("speaker_identity")
    rows = rows.annotate(first=Min("start_seconds"), name=Max("speaker_name")).order_by("first")
    return [{"identity": row["speaker_identity"], "name": row["name"]} for row in rows]


@dataclass
class Turn:
    """Consecutive utterances of one speaker, as a reader follows a conversation."""

    identity: str
    name: str
    utterances: list[Utterance] = field(default_factory=list)

    @property
    def speaker(self) -> str:
        return speaker_label(self.name, self.identity)

    @property
    def start_seconds(self) -> float:
        return self.utterances[0].start_seconds

    @property
    def end_seconds(self) -> float:
        return max(utterance.end_seconds for utterance in self.utterances)

    @property
    def started_at(self) -> datetime:
        return self.utterances[0].started_at

    @property
    def clock(self) -> str:
        return clock(self.start_seconds)


def speaker_label(name: str, identity: str) -> str:
    return name or identity or "Room (mix)"


def turns(utterances: Iterable[Utterance]) -> Iterator[Turn]:
    """`utterances` (in the order spoken) grouped into turns."""
    turn: Turn | None = None
    for utterance in utterances:
        if turn is None or utterance.speaker_identity != turn.identity:
            if turn is not None:
                yield turn
            turn = Turn(utterance.speaker_identity, utterance.speaker_name)
        turn.utterances.append(utterance)
    if turn is not None:
        yield turn


def clock(seconds: float) -> str:
    """Seconds from the session's audio start as a reader reads them: 1:02:03, 02:03."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


# --- gaps: where the engine heard nothing ---------------------------------------------------------
def gaps_between(
    transcription: Transcription, since: float | None, until: float | None
) -> list[TranscriptGap]:
    """The transcript's gaps starting in [`since`, `until`) (None: no bound), in order. A
    transcript has few (each is a reconnect or an overflow), so they are read at once."""
    rows = transcription.gaps.order_by("start_seconds", "pk")
    if since is not None:
        rows = rows.filter(start_seconds__gte=since)
    if until is not None:
        rows = rows.filter(start_seconds__lt=until)
    return list(rows)


def with_gaps(
    utterances: Iterable[Utterance], gaps: Iterable[TranscriptGap]
) -> Iterator[Turn | TranscriptGap]:
    """The turns of `utterances` with `gaps` in their place (both in the order spoken): a gap
    in the middle of a speaker's turn ends it there, and the turn goes on after it."""
    waiting, run = deque(gaps), list[Utterance]()
    for utterance in utterances:
        if waiting and waiting[0].start_seconds <= utterance.start_seconds:
            yield from turns(run)
            run = []
            while waiting and waiting[0].start_seconds <= utterance.start_seconds:
                yield waiting.popleft()
        run.append(utterance)
    yield from turns(run)
    yield from waiting


def said_in_order(transcription: Transcription) -> Iterator[Utterance | TranscriptGap]:
    """Every utterance and gap in the order spoken, the utterances a keyset chunk at a time."""
    waiting = deque(gaps_between(transcription, None, None))
    for chunk in chunks(transcription):
        for utterance in chunk:
            while waiting and waiting[0].start_seconds <= utterance.start_seconds:
                yield waiting.popleft()
            yield utterance
    yield from waiting
