"""Job history: finding jobs by what support asks of them, in a stable order, a page at a time.

Pages are keyset pages: a page starts after (or before) a row, named by its sort value and its
pk, so the thousandth page costs what the first does, and jobs arriving meanwhile never shift
what the next page shows. The same filters feed the CSV export, which walks the whole set in
keyset chunks and writes no secret (a job's config and texts hold none; stream keys stay in its
encrypted secrets). Transcripts (egress_app/transcripts.py) are paged and chunked by the same
`Sort`, `Cursor`, `page` and `chunks`.
"""

from __future__ import annotations

import re
import time as clock
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connections
from django.db.models import Model, Q, QuerySet, Value
from django.db.models.functions import StrIndex, Upper
from django.utils import timezone

from egress_app import failures
from egress_app.launch.config import row_id
from egress_app.models import EgressJob, EgressStatus, LaunchState

PAGE_SIZE = 50
EXPORT_CHUNK = 2000


# --- filters ------------------------------------------------------------------------------------
# Where a job stands: LiveKit's status, or where its launch stands while there is no egress.
LAUNCH_STATES = (LaunchState.LAUNCHING, LaunchState.REFUSED, LaunchState.UNKNOWN)
STATUS_CHOICES = [*EgressStatus.choices, *((state.value, state.label) for state in LAUNCH_STATES)]


def start_of(day: date) -> datetime:
    """Midnight at the start of `day` in the current time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def days(field: str, since: date | None, until: date | None) -> Q:
    """`field` within the days `since` to `until`, both included, in the current time zone.

    The calendar's first and last days bound nothing: no time lies beyond them, and their
    midnights may not exist in UTC (OverflowError, issue 13, section 4)."""
    q = Q()
    if since and since > date.min:
        q &= Q(**{f"{field}__gte": start_of(since)})
    if until and until < date.max - timedelta(days=1):
        q &= Q(**{f"{field}__lt": start_of(until + timedelta(days=1))})
    return q


def filtered(jobs: QuerySet[EgressJob], filters: Mapping[str, Any]) -> QuerySet[EgressJob]:
    """`jobs` narrowed by the filters given (a filter form's cleaned data; blanks ignored)."""
    if status := filters.get("status"):
        is_launch = status in {state.value for state in LAUNCH_STATES}
        jobs = jobs.filter(**{"launch_state" if is_launch else "status": status})
    for name, field in (("kind", "kind"), ("started_by", "started_by")):
        if value := filters.get(name):
            jobs = jobs.filter(**{field: value})
    if room := filters.get("room"):
        jobs = with_room(jobs, room)
    jobs = jobs.filter(days("created_at", filters.get("since"), filters.get("until")))
    if error := filters.get("error"):
        jobs = jobs.filter(Q(error__icontains=error) | Q(details__icontains=error))
    if filters.get("external") in (True, False):
        jobs = jobs.filter(external=filters["external"])
    if filters.get("empty_output"):
        jobs = jobs.filter(cause=failures.EMPTY_OUTPUT.key)  # kept on the job at each save
    return jobs


# The room filter on PostgreSQL. A trigram index (migration 0015) answers "part of the name, any
# case", but reads the whole of every trigram's list of jobs: "room-0042" costs what its
# "ROO" and "OOM" cost, found in every job of a deployment whose rooms are all "room-<n>" (20 to
# 45 ms over 1M jobs). The index is asked for the rarest word of the text instead ("0042", 0.5
# ms), and each job it finds is checked for the whole text. Which word is rarest, the rooms of
# the newest jobs tell (read at most once a while per process: it changes no answer, only speed).
ROOM_WORD = re.compile(r"[^\W_]{3,}")  # a word the index can look up: 3 letters or digits
ROOM_SAMPLE = 1000  # the newest jobs whose rooms are counted
ROOM_SAMPLE_SECONDS = 300.0
ROOM_WORD_SHARE = 0.05  # a word in more of them than this is no better than the whole text
_room_sample: tuple[float, str, list[str]] | None = None  # when, which database, the rooms


def with_room(jobs: QuerySet[EgressJob], room: str) -> QuerySet[EgressJob]:
    """Jobs whose room name holds `room`, in any case ("pod" finds "Podcast-1")."""
    words = ROOM_WORD.findall(room)
    if connections[jobs.db].vendor != "postgresql" or not words or words == [room]:
        return jobs.filter(room_name__icontains=room)
    word = rarest(room, words, recent_rooms(jobs.db))
    if word == room:
        return jobs.filter(room_name__icontains=room)
    whole = StrIndex(Upper("room_name"), Upper(Value(room)))
    return jobs.filter(room_name__icontains=word).alias(_room_at=whole).filter(_room_at__gt=0)


def rarest(room: str, words: Sequence[str], rooms: Sequence[str]) -> str:
    """The word of `room` that the fewest of `rooms` hold, if few enough do; else `room`."""
    names = [name.upper() for name in rooms]
    counts = {word: sum(word.upper() in name for name in names) for word in words}
    word = min(words, key=lambda word: (counts[word], -len(word)))
    return word if counts[word] <= ROOM_WORD_SHARE * max(len(names), 1) else room


def recent_rooms(database: str) -> list[str]:
    """The rooms of the newest jobs, one per job (kept a few minutes)."""
    global _room_sample
    now = clock.monotonic()
    if _room_sample is None or _room_sample[1] != database or now > _room_sample[0]:
        newest = EgressJob.objects.using(database).order_by("-created_at")
        rooms = list(newest.values_list("room_name", flat=True)[:ROOM_SAMPLE])
        _room_sample = (now + ROOM_SAMPLE_SECONDS, database, rooms)
    return _room_sample[2]


# --- sorting and keyset pages -------------------------------------------------------------------
@dataclass(frozen=True)
class Sort:
    """An order of the list: a column, ties broken by pk in the same direction."""

    key: str  # as the URL names it
    label: str
    field: str
    descending: bool

    def ordering(self, *, reverse: bool = False) -> tuple[str, str]:
        sign = "-" if self.descending != reverse else ""
        return f"{sign}{self.field}", f"{sign}pk"

    def beyond(self, cursor: Cursor, *, reverse: bool = False) -> Q:
        """The rows after `cursor` in this order (before it, `reverse`)."""
        op = "lt" if self.descending != reverse else "gt"
        value, field = cursor.value, self.field
        # The bound on the column alone comes first: an index range to scan, where an OR of
        # the two cases would make PostgreSQL read the index from its start.
        past = Q(**{f"{field}__{op}": value}) | Q(**{f"pk__{op}": cursor.pk})
        return Q(**{f"{field}__{op}e": value}) & past

    @property
    def previous_label(self) -> str:
        """The link to the rows before a page: newer ones, older ones, or just the previous."""
        if not self.field.endswith("_at"):
            return "Previous"
        return "Newer" if self.descending else "Older"

    @property
    def next_label(self) -> str:
        if not self.field.endswith("_at"):
            return "Next"
        return "Older" if self.descending else "Newer"

    def rows_after(self, rows: QuerySet[Any, Any], cursor: Cursor | None) -> QuerySet[Any, Any]:
        """`rows` in this order, those after `cursor` (all of them, None)."""
        ahead = rows.filter(self.beyond(cursor)) if cursor is not None else rows
        return ahead.order_by(*self.ordering())

    def cursor(self, row: Any) -> Cursor:
        """Where `row` stands: a model, or a dict of its `values()`."""
        if isinstance(row, Mapping):
            return Cursor(row[self.field], row["pk"])
        return Cursor(getattr(row, self.field), row.pk)

    def parse(self, text: str) -> Cursor | None:
        """A cursor from the URL (`<value>~<pk>`); None when it does not read as one."""
        value, _, digits = text.rpartition("~")
        if (pk := row_id(digits)) is None:
            return None
        if not self.field.endswith("_at"):  # a time, or a column's text
            return Cursor(value, pk)
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return None
        return Cursor(when, pk) if timezone.is_aware(when) else None


@dataclass(frozen=True)
class Cursor:
    value: Any
    pk: int

    def __str__(self) -> str:
        value = self.value.isoformat() if isinstance(self.value, datetime) else self.value
        return f"{value}~{self.pk}"


SORTS = {
    sort.key: sort
    for sort in (
        Sort("-created", "Newest first", "created_at", descending=True),
        Sort("created", "Oldest first", "created_at", descending=False),
        Sort("room", "Room, A to Z", "room_name", descending=False),
        Sort("-room", "Room, Z to A", "room_name", descending=True),
        Sort("status", "Status", "status", descending=False),
        Sort("kind", "Kind", "kind", descending=False),
    )
}
DEFAULT_SORT = "-created"


@dataclass(frozen=True)
class Page[Row]:
    """One page of rows, with the cursors of the pages beside it (None at either end)."""

    rows: list[Row]
    newer: Cursor | None
    older: Cursor | None

    @property
    def is_first(self) -> bool:
        return self.newer is None


def page[Row: Model](
    jobs: QuerySet[Row],
    sort: Sort,
    *,
    after: Cursor | None = None,
    before: Cursor | None = None,
    size: int = PAGE_SIZE,
) -> Page[Row]:
    """The `size` rows after `after`, or before `before`, or the first ones.

    One query, reading one row more than shown to know whether more follow. Fewer than a page
    before `before` means the first page: "Newer" always ends at the top of the list.
    """
    if before is not None:
        back = jobs.filter(sort.beyond(before, reverse=True)).order_by(*sort.ordering(reverse=True))
        rows = list(back[: size + 1])
        if len(rows) > size:
            rows = rows[:size][::-1]
            return Page(rows, sort.cursor(rows[0]), sort.cursor(rows[-1]))
        after = None
    rows = list(sort.rows_after(jobs, after)[: size + 1])
    older = sort.cursor(rows[size - 1]) if len(rows) > size else None
    rows = rows[:size]
    if after is None:
        return Page(rows, None, older)
    # Past the end (an old link, or jobs gone since): "Newer" still leads back.
    return Page(rows, sort.cursor(rows[0]) if rows else after, older)


# --- CSV export ---------------------------------------------------------------------------------
CSV_HEADER = (
    "job",
    "egress_id",
    "status",
    "kind",
    "room",
    "started_by",
    "external",
    "created_at",
    "started_at",
    "ended_at",
    "duration_seconds",
    "error",
    "error_code",
    "details",
    "cause",
    "files",
    "retry_of",
)
CSV_FIELDS = (
    "pk",
    "egress_id",
    "status",
    "launch_state",
    "kind",
    "room_name",
    "started_by__username",
    "external",
    "created_at",
    "started_at",
    "ended_at",
    "error",
    "error_code",
    "details",
    "cause",
    "results",
    "retry_of_id",
)


def csv_row(values: Mapping[str, Any]) -> list[Any]:
    """One job as the export writes it (from `CSV_FIELDS` values): no config, no secret."""
    started, ended = values["started_at"], values["ended_at"]
    seconds = round((ended - started).total_seconds()) if started and ended else ""
    files = [str(file.get("location") or "") for file in (values["results"] or {}).get("files", [])]
    return [
        values["pk"],
        values["egress_id"] or "",
        values["status"] or values["launch_state"],
        values["kind"],
        values["room_name"],
        values["started_by__username"] or "",
        "yes" if values["external"] else "no",
        *(_iso(values[name]) for name in ("created_at", "started_at", "ended_at")),
        seconds,
        values["error"],
        values["error_code"] if values["error_code"] is not None else "",
        values["details"],
        values["cause"],
        " ".join(files),
        values["retry_of_id"] or "",
    ]


def _iso(when: datetime | None) -> str:
    return timezone.localtime(when).isoformat() if when else ""


def chunks[Row](rows: QuerySet[Any, Row], sort: Sort, size: int) -> Iterator[list[Row]]:
    """Every row of `rows` in `sort`'s order, a keyset chunk (one query) at a time: a long
    export never holds the whole set."""
    after: Cursor | None = None
    while chunk := list(sort.rows_after(rows, after)[:size]):
        yield chunk
        after = sort.cursor(chunk[-1])


async def export_rows(jobs: QuerySet[EgressJob], sort: Sort) -> AsyncIterator[list[Any]]:
    """The export's rows, read a chunk at a time off the event loop: an async server streams
    them as they come instead of holding the whole set."""
    found = chunks(jobs.values(*CSV_FIELDS), sort, EXPORT_CHUNK)

    def next_chunk() -> list[dict[str, Any]]:
        return next(found, [])

    while chunk := await sync_to_async(next_chunk)():
        for values in chunk:
            yield csv_row(values)
