"""The Reports page's kept days: the figures are those the jobs give when counted afresh (the
report's former way, kept here as the reference), before and after jobs change by webhooks, by
LiveKit's own answers, by a retry, and for jobs started outside the dashboard."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

import pytest
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, NullIf, TruncDate
from django.test import override_settings
from django.utils import timezone
from livekit.protocol import egress, webhook

from egress_app import actions
from egress_app.history import start_of
from egress_app.models import EgressJob, EgressKind, EgressStatus, LaunchState, ReportDay
from egress_app.reports import RECORDING_OUTPUTS, STREAM_OUTPUTS, _has_output, build_report
from egress_app.sandbox.testing import RunningSandbox
from tests.dashboard.test_reports import BOTH, FILE, SEGMENTS, STREAM, job
from tests.jobs import ended, file_config, live, make_profile, new_token, start, started_outside

pytestmark = pytest.mark.django_db

Figures = tuple[dict[tuple[date, str], int], dict[str, tuple[float, float]]]


def counted_afresh(days: int, now: datetime) -> Figures:
    """Jobs per day and bucket, and minutes per kind, read from every job of the period as the
    report did before it kept days."""
    first = timezone.localdate(now) - timedelta(days=days - 1)
    jobs = EgressJob.objects.filter(created_at__gte=start_of(first)).order_by()
    rows = (
        jobs.annotate(
            day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()),
            bucket=Coalesce(NullIf("status", Value("")), "launch_state"),
        )
        .values_list("day", "bucket")
        .annotate(count=Count("pk"))
    )
    counts = {(day, bucket): n for day, bucket, n in rows}
    running = When(status__in=EgressJob.ACTIVE_STATUSES, then=Value(now))
    end = Coalesce("ended_at", Case(running, output_field=DateTimeField()))
    duration = ExpressionWrapper(end - F("started_at"), output_field=DurationField())
    sums = (
        jobs.filter(started_at__isnull=False)
        .exclude(ended_at__lt=F("started_at"))
        .values_list("kind")
        .annotate(
            recorded=Sum(duration, filter=_has_output(RECORDING_OUTPUTS)),
            streamed=Sum(duration, filter=_has_output(STREAM_OUTPUTS)),
        )
    )
    minutes = {
        kind: (_minutes(recorded), _minutes(streamed))
        for kind, recorded, streamed in sums
        if _minutes(recorded) or _minutes(streamed)
    }
    return counts, minutes


def _minutes(duration: timedelta | None) -> float:
    return max(duration.total_seconds(), 0) / 60 if duration else 0.0


def reported(days: int, now: datetime) -> Figures:
    report = build_report(days, now=now)
    keys = [bucket.key for bucket in report.buckets]
    counts = {
        (day.day, key): n
        for day in report.per_day
        for key, n in zip(keys, day.counts, strict=True)
        if n
    }
    return counts, {row.kind: (row.recorded, row.streamed) for row in report.minutes}


def assert_same(now: datetime) -> None:
    for days in (7, 30, 90):
        assert reported(days, now) == counted_afresh(days, now), days


def many_jobs(now: datetime) -> list[EgressJob]:
    """Jobs of every sort over ten weeks, on kept days and on live ones."""
    made = []
    configs = [FILE, STREAM, BOTH, SEGMENTS, {}]
    statuses = [
        EgressStatus.COMPLETE,
        EgressStatus.FAILED,
        EgressStatus.ABORTED,
        EgressStatus.ACTIVE,
        EgressStatus.ENDING,
        EgressStatus.LIMIT_REACHED,
    ]
    kinds = [kind for kind, _ in EgressKind.choices]
    for n in range(70):
        created = now - timedelta(days=n, hours=n % 7)
        started = created + timedelta(minutes=1)
        status = statuses[n % len(statuses)]
        running = status in EgressJob.ACTIVE_STATUSES and n % 2
        fields: dict[str, object] = {
            "status": status,
            "kind": kinds[n % len(kinds)],
            "config": configs[n % len(configs)],
            "started_at": started if n % 9 else None,
            "ended_at": None if running else started + timedelta(minutes=n % 40, seconds=n),
        }
        if n % 11 == 0:  # clocks apart: ended before it started
            fields["ended_at"] = started - timedelta(minutes=5)
        if n % 5 == 4:  # started elsewhere: LiveKit's results say what it made
            fields |= {"external": True, "results": {"streams": [{"url": "rtmp://x"}]}}
        made.append(job(created, **fields))
    made.append(job(now - timedelta(days=3), status="", launch_state=LaunchState.REFUSED))
    made.append(job(now - timedelta(days=12), status="", launch_state=LaunchState.UNKNOWN))
    return made


def info_of(made: EgressJob, status: int, **fields: object) -> egress.EgressInfo:
    return egress.EgressInfo(
        egress_id=str(made.egress_id),
        room_name="town-hall",
        status=status,
        updated_at=time.time_ns(),
        **fields,  # type: ignore[arg-type]
    )


# --- kept days match the jobs -------------------------------------------------------------------
def test_it_reports_what_the_jobs_give_counted_afresh():
    now = timezone.now()
    many_jobs(now)

    assert_same(now)  # the days are kept now
    assert ReportDay.objects.filter(bucket="").count() == 88

    assert_same(now)  # and read back
    assert_same(now + timedelta(hours=5))  # the running jobs' minutes grow


@override_settings(TIME_ZONE="Asia/Kathmandu")  # UTC+05:45: days that start mid-hour
def test_it_keeps_days_per_time_zone():
    now = timezone.now()
    many_jobs(now)
    assert_same(now)

    with override_settings(TIME_ZONE="America/New_York"):
        assert_same(now)
    assert set(ReportDay.objects.values_list("zone", flat=True)) == {
        "Asia/Kathmandu",
        "America/New_York",
    }


def test_it_counts_again_a_kept_day_whose_job_a_webhook_ended():
    now = timezone.now()
    running = job(
        now - timedelta(days=5),
        egress_id="EG_long",
        status=EgressStatus.ACTIVE,
        config=FILE,
        started_at=now - timedelta(days=5),
    )
    assert_same(now)

    ended_info = info_of(
        running,
        egress.EGRESS_FAILED,
        started_at=int((now - timedelta(days=5)).timestamp() * 1e9),
        ended_at=time.time_ns(),
        error="pipeline frozen",
    )
    event = webhook.WebhookEvent(event="egress_ended", id="EV_long", egress_info=ended_info)
    assert actions.receive_webhook(event) is True

    running.refresh_from_db()
    assert running.status == EgressStatus.FAILED
    assert_same(timezone.now())


def test_it_counts_again_a_kept_day_whose_job_livekit_answered_for():
    now = timezone.now()
    made = job(now - timedelta(days=9), egress_id="EG_polled", status=EgressStatus.STARTING)
    assert_same(now)

    results = [egress.FileInfo(filename="a.mp4", location="s3://b/a.mp4", size=10)]
    actions.observe(
        info_of(
            made,
            egress.EGRESS_COMPLETE,
            started_at=int((now - timedelta(days=9)).timestamp() * 1e9),
            ended_at=int((now - timedelta(days=9, minutes=-30)).timestamp() * 1e9),
            file_results=results,
        )
    )

    assert_same(timezone.now())
    assert reported(30, timezone.now())[1] == {EgressKind.ROOM_COMPOSITE: (30.0, 0.0)}


def test_it_counts_a_new_external_job_and_leaves_kept_days_alone():
    now = timezone.now()
    many_jobs(now)
    assert_same(now)
    kept = ReportDay.objects.count()

    unknown = egress.EgressInfo(
        egress_id="EG_outside",
        room_name="town-hall",
        status=egress.EGRESS_ACTIVE,
        started_at=time.time_ns(),
        updated_at=time.time_ns(),
        stream=egress.StreamInfoList(info=[egress.StreamInfo(url="rtmp://x/live")]),
    )
    assert actions.observe(unknown).job.external  # type: ignore[union-attr]

    assert ReportDay.objects.count() == kept
    assert_same(timezone.now())


def test_it_reports_jobs_started_stopped_and_retried_through_livekit(
    producer, admin, sandbox: RunningSandbox
):
    profile = make_profile(admin)
    first = ended(
        sandbox, actions.stop_egress(producer, live(sandbox, start(producer, file_config(profile))))
    )
    EgressJob.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(days=4))
    outside = started_outside(sandbox)
    EgressJob.objects.filter(pk=outside.pk).update(created_at=timezone.now() - timedelta(days=6))
    assert_same(timezone.now())

    again = actions.retry_egress(producer, first, launch_token=new_token())
    live(sandbox, again)
    first.refresh_from_db()
    first.status = EgressStatus.ABORTED  # as support would find it changed since
    first.save(update_fields=["status"])

    assert not ReportDay.objects.filter(day=timezone.localdate() - timedelta(days=4)).exists()
    assert_same(timezone.now())


def test_it_leaves_kept_days_alone_when_a_young_job_or_a_note_changes(support):
    now = timezone.now()
    many_jobs(now)
    assert_same(now)
    kept = ReportDay.objects.count()
    old = EgressJob.objects.filter(created_at__lt=now - timedelta(days=20)).first()
    assert old is not None
    young = EgressJob.objects.filter(created_at__gt=now - timedelta(hours=20)).first()
    assert young is not None

    old.flag = "stuck"
    old.save(update_fields=["flag"])
    young.status = EgressStatus.FAILED
    young.save()

    assert ReportDay.objects.count() == kept
    assert_same(now)
