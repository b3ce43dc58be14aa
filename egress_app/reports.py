"""Reports: what the jobs of a period add up to, by day, status and kind.

Every figure is aggregated in the database over the jobs created in the period (the
`created_at` index finds them), so a report costs three queries however many jobs there are.
Days are calendar days in the configured TIME_ZONE.
"""

from __future__ import annotations

from dataclasses import dataclass
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
from egress_app.models import EgressJob, EgressKind, EgressStatus, LaunchState

PERIODS = (7, 30, 90)
DEFAULT_DAYS = 30
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
    first = timezone.localdate(now) - timedelta(days=days - 1)
    jobs = EgressJob.objects.filter(created_at__gte=start_of(first)).order_by()
    buckets, per_day = _per_day(jobs, [first + timedelta(days=n) for n in range(days)])
    return Report(
        days=days,
        buckets=buckets,
        per_day=per_day,
        minutes=_minutes(jobs, now),
        active=EgressJob.objects.filter(status__in=EgressJob.ACTIVE_STATUSES).count(),
        limit=settings.EGRESS_CONCURRENCY_LIMIT,
    )


def _per_day(jobs: QuerySet[EgressJob], dates: list[date]) -> tuple[list[Bucket], list[Day]]:
    """Jobs per day and status (one GROUP BY); every day of the period, with no jobs or some."""
    rows = (
        jobs.annotate(
            day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()),
            bucket=Coalesce(NullIf("status", Value("")), "launch_state"),
        )
        .values_list("day", "bucket")
        .annotate(count=Count("pk"))
    )
    counts: dict[tuple[date, str], int] = {(day, key): n for day, key, n in rows}
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


def _minutes(jobs: QuerySet[EgressJob], now: datetime) -> list[KindMinutes]:
    """Minutes recorded and streamed per kind: ended_at - started_at, summed in the database;
    a running job counts up to now, an ended one without an end time not at all, nor one that
    ended before it started (clocks apart: dashboard.fragments.duration shows none either). A job
    with both kinds of output counts in both."""
    running = When(status__in=EgressJob.ACTIVE_STATUSES, then=Value(now))
    end = Coalesce("ended_at", Case(running, output_field=DateTimeField()))
    duration = ExpressionWrapper(end - F("started_at"), output_field=DurationField())
    rows = (
        jobs.filter(started_at__isnull=False)
        .exclude(ended_at__lt=F("started_at"))
        .values_list("kind")
        .annotate(
            recorded=Sum(duration, filter=_has_output(RECORDING_OUTPUTS)),
            streamed=Sum(duration, filter=_has_output(STREAM_OUTPUTS)),
        )
    )
    by_kind = {
        kind: (_in_minutes(recorded), _in_minutes(streamed)) for kind, recorded, streamed in rows
    }
    return [
        KindMinutes(kind, label, *by_kind[kind])
        for kind, label in EgressKind.choices
        if kind in by_kind and any(by_kind[kind])
    ]


def _in_minutes(duration: timedelta | None) -> float:
    return max(duration.total_seconds(), 0) / 60 if duration else 0.0
