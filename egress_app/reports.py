"""Reports: what the jobs of a period add up to, by day, status and kind.

Every figure is aggregated in the database, per day, bucket and kind. Yesterday and today are
counted from their jobs at each report (the `created_at` index finds them); the days before are
kept in `ReportDay` rows the first time a report shows them, so a report reads a few rows a day
however many jobs there are, in three queries. Saving a job more than a day old drops the
rows of its days (`EgressJob.save`): they are counted again at the next report. Minutes of a job
still running count up to now, added at each report. Days are calendar days in the configured
TIME_ZONE (kept per zone).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
    TextField,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, NullIf, TruncDate
from django.db.models.lookups import Exact
from django.utils import timezone

from egress_app.history import start_of
from egress_app.models import EgressJob, EgressKind, EgressStatus, LaunchState, ReportDay

PERIODS = (7, 30, 90)
DEFAULT_DAYS = 30
# Yesterday and today: counted from the jobs at each report (jobs change most while young).
LIVE_DAYS = 2
FINISHED_STATUSES = (EgressStatus.COMPLETE, *EgressJob.FAILED_STATUSES)
# Output name in a launch config -> its list in `results` (an external job has no config).
RECORDING_OUTPUTS = {"file": "files", "segments": "segments", "images": "images"}
STREAM_OUTPUTS = {"stream": "streams"}
# Status columns, in this order; a launch with no egress yet is counted by where it stands.
BUCKETS: dict[str, str] = dict(EgressStatus.choices) | dict(LaunchState.choices)


@dataclass(frozen=True)
class Bucket:
    key: str
    label: str


@dataclass(frozen=True)
class Day:
    day: date
    counts: tuple[int, ...]  # jobs per bucket, in `Report.buckets` order
    finished: int
    failed: int

    @property
    def total(self) -> int:
        return sum(self.counts)

    @property
    def failure_percent(self) -> float | None:
        return _percent(self.failed, self.finished)


@dataclass(frozen=True)
class KindMinutes:
    kind: str
    label: str
    recorded: float
    streamed: float


@dataclass(frozen=True)
class Report:
    days: int
    buckets: list[Bucket]
    per_day: list[Day]
    minutes: list[KindMinutes]
    active: int
    limit: int  # 0: no limit configured

    @property
    def total(self) -> int:
        return sum(day.total for day in self.per_day)

    @property
    def bucket_totals(self) -> list[int]:
        return [sum(column) for column in zip(*(d.counts for d in self.per_day), strict=True)]

    @property
    def days_with_jobs(self) -> int:
        return sum(1 for day in self.per_day if day.total)

    @property
    def busiest_day(self) -> Day | None:
        """The day with the most jobs (the latest of equals), None when there were none."""
        busiest = max(reversed(self.per_day), key=lambda day: day.total, default=None)
        return busiest if busiest is not None and busiest.total else None

    @property
    def worst_day(self) -> Day | None:
        """The day with the highest failure rate (the latest of equals), None when no job
        failed."""
        failing = [day for day in self.per_day if day.failed]
        return max(reversed(failing), key=lambda day: day.failure_percent or 0, default=None)

    @property
    def finished(self) -> int:
        return sum(day.finished for day in self.per_day)

    @property
    def failed(self) -> int:
        return sum(day.failed for day in self.per_day)

    @property
    def failure_percent(self) -> float | None:
        return _percent(self.failed, self.finished)

    @property
    def recorded_minutes(self) -> float:
        return sum(row.recorded for row in self.minutes)

    @property
    def streamed_minutes(self) -> float:
        return sum(row.streamed for row in self.minutes)

    @property
    def over_limit(self) -> bool:
        return bool(self.limit) and self.active >= self.limit

    def chart_data(self) -> dict[str, Any]:
        """What static/js/reports.js draws (through `json_script`)."""
        return {
            "days": [day.day.strftime("%d %b") for day in self.per_day],
            "statuses": [
                {
                    "key": bucket.key,
                    "label": bucket.label,
                    "counts": [d.counts[n] for d in self.per_day],
                }
                for n, bucket in enumerate(self.buckets)
            ],
            "failureRate": [day.failure_percent for day in self.per_day],
            "kinds": [row.label for row in self.minutes],
            "recorded": [round(row.recorded, 1) for row in self.minutes],
            "streamed": [round(row.streamed, 1) for row in self.minutes],
        }


def _percent(part: int, whole: int) -> float | None:
    return round(part / whole * 100, 1) if whole else None


def period_days(value: str | None) -> int:
    """The period asked for (`?days=`), or the default for anything else."""
    return int(value) if value in {str(days) for days in PERIODS} else DEFAULT_DAYS


def build_report(days: int = DEFAULT_DAYS, *, now: datetime | None = None) -> Report:
    """The report of the `days` days up to `now` (today included)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    first = today - timedelta(days=days - 1)
    live_from = max(first, today - timedelta(days=LIVE_DAYS - 1))
    tallies = _kept(first, live_from) + _live(first, live_from, now)
    buckets, per_day = _per_day(tallies, [first + timedelta(days=n) for n in range(days)])
    return Report(
        days=days,
        buckets=buckets,
        per_day=per_day,
        minutes=_minutes(tallies),
        active=EgressJob.objects.filter(status__in=EgressJob.ACTIVE_STATUSES).count(),
        limit=settings.EGRESS_CONCURRENCY_LIMIT,
    )


@dataclass(frozen=True)
class Tally:
    """Jobs of one day, bucket and kind: how many, and the time they recorded and streamed
    (None: none)."""

    day: date
    bucket: str
    kind: str
    jobs: int
    recorded: timedelta | None
    streamed: timedelta | None

    @property
    def is_mark(self) -> bool:
        """A kept day's mark (no job has a blank status bucket and kind)."""
        return not self.bucket and not self.kind


def _live(first: date, live_from: date, now: datetime) -> list[Tally]:
    """Yesterday and today, counted from the jobs; and the minutes up to `now` of the jobs
    still running from the days before, which the kept days leave out."""
    recent = Q(created_at__gte=start_of(live_from))
    running = Q(status__in=EgressJob.ACTIVE_STATUSES, ended_at__isnull=True)
    # Each side of the OR finds its rows through its own index (created_at, status).
    jobs = EgressJob.objects.filter(recent | running & Q(created_at__gte=start_of(first)))
    return _tallies(jobs.order_by(), now, counted=recent)


def _kept(first: date, live_from: date) -> list[Tally]:
    """The days from `first` to before `live_from` as kept, the missing ones counted and kept."""
    if first >= live_from:
        return []
    zone = str(timezone.get_current_timezone())
    kept = ReportDay.objects.filter(zone=zone, day__gte=first, day__lt=live_from)
    fields = ("day", "bucket", "kind", "jobs", "recorded", "streamed")
    rows = [Tally(*row) for row in kept.values_list(*fields)]
    counted = {row.day for row in rows if row.is_mark}
    dates = (first + timedelta(days=n) for n in range((live_from - first).days))
    if missing := [day for day in dates if day not in counted]:
        rows = [row for row in rows if row.day in counted] + _keep(zone, missing)
    return [row for row in rows if not row.is_mark]


def _keep(zone: str, days: list[date]) -> list[Tally]:
    """`days` (over, in order) counted from the jobs and kept, each with its mark."""
    since, until = start_of(days[0]), start_of(days[-1] + timedelta(days=1))
    jobs = EgressJob.objects.filter(created_at__gte=since, created_at__lt=until).order_by()
    wanted = set(days)
    rows = [row for row in _tallies(jobs, None) if row.day in wanted]
    marks = [ReportDay(zone=zone, day=day) for day in days]
    # Another report may be keeping the same days: its rows are the same.
    ReportDay.objects.bulk_create(
        marks + [ReportDay(zone=zone, **asdict(row)) for row in rows], ignore_conflicts=True
    )
    return rows


def _tallies(
    jobs: QuerySet[EgressJob], now: datetime | None, counted: Q | None = None
) -> list[Tally]:
    """`jobs` per day, bucket and kind (one GROUP BY): how many (those `counted`), and the
    time recorded and streamed: ended_at - started_at, summed in the database; a running job
    counts up to `now` (not at all with None), an ended one without an end time not at all, nor
    one that ended before it started (clocks apart: dashboard.fragments.duration shows none
    either). A job with both kinds of output counts in both."""
    end: Any = F("ended_at")
    if now is not None:
        running = When(status__in=EgressJob.ACTIVE_STATUSES, then=Value(now))
        end = Coalesce("ended_at", Case(running, output_field=DateTimeField()))
    duration = ExpressionWrapper(end - F("started_at"), output_field=DurationField())
    ran = Q(started_at__isnull=False) & ~Q(ended_at__lt=F("started_at"))
    rows = (
        jobs.annotate(
            day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()),
            bucket=Coalesce(NullIf("status", Value("")), "launch_state"),
        )
        .values_list("day", "bucket", "kind")
        .annotate(
            jobs=Count("pk", filter=counted),
            recorded=Sum(duration, filter=ran & _has_output(RECORDING_OUTPUTS)),
            streamed=Sum(duration, filter=ran & _has_output(STREAM_OUTPUTS)),
        )
    )
    return [Tally(*row) for row in rows]


def _per_day(tallies: list[Tally], dates: list[date]) -> tuple[list[Bucket], list[Day]]:
    """Jobs per day and status; every day of the period, with no jobs or some."""
    counts: dict[tuple[date, str], int] = defaultdict(int)
    for row in tallies:
        if row.jobs:
            counts[row.day, row.bucket] += row.jobs
    seen = {key for _, key in counts}
    buckets = [Bucket(key, label) for key, label in BUCKETS.items() if key in seen]
    per_day = [
        Day(
            day=day,
            counts=tuple(counts.get((day, bucket.key), 0) for bucket in buckets),
            finished=sum(counts.get((day, status), 0) for status in FINISHED_STATUSES),
            failed=sum(counts.get((day, status), 0) for status in EgressJob.FAILED_STATUSES),
        )
        for day in dates
    ]
    return buckets, per_day


def _has_output(outputs: dict[str, str]) -> Q:
    """A launch config with one of these outputs, or results from one (an external job)."""
    q = Q()
    for output, results in outputs.items():
        q |= _present(f"config__outputs__{output}") | _present(f"results__{results}__0")
    return q


def _present(path: str) -> Q:
    # Neither missing nor JSON null; SQLite gives a JSON null's text as "null", PostgreSQL NULL.
    return ~Q(Exact(Coalesce(KT(path), Value("null"), output_field=TextField()), "null"))


def _minutes(tallies: list[Tally]) -> list[KindMinutes]:
    """Minutes recorded and streamed per kind."""
    by_kind: dict[str, tuple[timedelta | None, timedelta | None]] = {}
    for row in tallies:
        recorded, streamed = by_kind.get(row.kind, (None, None))
        by_kind[row.kind] = (_plus(recorded, row.recorded), _plus(streamed, row.streamed))
    minutes = {kind: (_in_minutes(r), _in_minutes(s)) for kind, (r, s) in by_kind.items()}
    return [
        KindMinutes(kind, label, *minutes[kind])
        for kind, label in EgressKind.choices
        if kind in minutes and any(minutes[kind])
    ]


def _plus(total: timedelta | None, more: timedelta | None) -> timedelta | None:
    return more if total is None else total if more is None else total + more


def _in_minutes(duration: timedelta | None) -> float:
    return max(duration.total_seconds(), 0) / 60 if duration else 0.0
