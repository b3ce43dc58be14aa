"""The Reports page: its numbers for hand-built jobs, and who may see it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from egress_app.models import EgressJob, EgressKind, EgressStatus, LaunchState
from egress_app.reports import build_report, period_days
from tests.dashboard.test_home import text_of
from tests.dashboard.test_storage_views import text_of_html

pytestmark = pytest.mark.django_db

REPORTS = reverse("dashboard-reports")
# 15:00 in New York (EDT, UTC-4 since 8 March 2026).
NOW = datetime(2026, 3, 10, 19, 0, tzinfo=UTC)
FILE = {"outputs": {"file": {"filepath": "a.mp4"}, "stream": None, "segments": None}}
STREAM = {"outputs": {"file": None, "stream": {"destination_ids": [1]}, "segments": None}}
BOTH = {"outputs": {"file": {}, "stream": {"destination_ids": [1]}}}
SEGMENTS = {"outputs": {"segments": {}, "stream": None}}


def job(created_at: datetime, **fields: object) -> EgressJob:
    """A job created at `created_at` (auto_now_add sets now; the report groups by it)."""
    fields.setdefault("kind", EgressKind.ROOM_COMPOSITE)
    made = EgressJob.objects.create(**fields)
    EgressJob.objects.filter(pk=made.pk).update(created_at=created_at)
    return made


def ran(minutes: float, **fields: object) -> EgressJob:
    """A job that ran `minutes`, ending an hour before NOW."""
    end = NOW - timedelta(hours=1)
    fields.setdefault("status", EgressStatus.COMPLETE)
    start = end - timedelta(minutes=minutes)
    return job(start, started_at=start, ended_at=end, **fields)


def by_day(report) -> dict[date, dict[str, int]]:
    keys = [bucket.key for bucket in report.buckets]
    return {
        day.day: {k: n for k, n in zip(keys, day.counts, strict=True) if n}
        for day in report.per_day
    }


# --- the numbers ----------------------------------------------------------------------------------
@override_settings(TIME_ZONE="America/New_York")
def test_it_counts_jobs_per_local_day_by_status():
    job(datetime(2026, 3, 10, 3, 0, tzinfo=UTC), status=EgressStatus.COMPLETE)  # 9 March, 23:00
    job(datetime(2026, 3, 10, 5, 0, tzinfo=UTC), status=EgressStatus.COMPLETE)  # 10 March, 01:00
    job(datetime(2026, 3, 10, 6, 0, tzinfo=UTC), status=EgressStatus.FAILED)
    job(datetime(2026, 3, 4, 5, 0, tzinfo=UTC), status=EgressStatus.ACTIVE)  # 4 March, 00:00
    job(datetime(2026, 3, 4, 3, 59, tzinfo=UTC), status=EgressStatus.COMPLETE)  # before the period

    report = build_report(7, now=NOW)

    assert [day.day for day in report.per_day] == [date(2026, 3, d) for d in range(4, 11)]
    counts = by_day(report)
    assert counts[date(2026, 3, 4)] == {EgressStatus.ACTIVE: 1}
    assert counts[date(2026, 3, 9)] == {EgressStatus.COMPLETE: 1}
    assert counts[date(2026, 3, 10)] == {EgressStatus.COMPLETE: 1, EgressStatus.FAILED: 1}
    assert all(not counts[date(2026, 3, d)] for d in (5, 6, 7, 8))
    assert report.total == 4
    assert [bucket.label for bucket in report.buckets] == ["Active", "Complete", "Failed"]
    assert report.bucket_totals == [1, 2, 1]


def test_it_counts_launches_without_an_egress_by_where_they_stand():
    job(NOW, status="", launch_state=LaunchState.REFUSED)
    job(NOW, status="", launch_state=LaunchState.UNKNOWN)
    job(NOW, status=EgressStatus.ABORTED)

    report = build_report(7, now=NOW)

    labels = [bucket.label for bucket in report.buckets]
    assert labels == ["Aborted", "Refused by LiveKit", "No answer from LiveKit"]
    assert report.per_day[-1].counts == (1, 1, 1)


def test_it_sums_minutes_recorded_and_streamed_by_kind():
    ran(10, config=FILE)
    ran(5, config=STREAM)
    ran(3, config=BOTH)
    ran(4, config=SEGMENTS, kind=EgressKind.WEB)
    # Started elsewhere: no launch config, only LiveKit's results say what it made.
    ran(2, kind=EgressKind.PARTICIPANT, external=True, results={"streams": [{"url": "rtmp://x"}]})
    ran(6, kind=EgressKind.PARTICIPANT, external=True, results={"files": [], "streams": []})
    job(NOW, config=FILE, status=EgressStatus.STARTING)  # not started: nothing yet

    report = build_report(7, now=NOW)

    minutes = {row.kind: (row.recorded, row.streamed) for row in report.minutes}
    assert minutes == {
        EgressKind.ROOM_COMPOSITE: (pytest.approx(13), pytest.approx(8)),
        EgressKind.WEB: (pytest.approx(4), 0),
        EgressKind.PARTICIPANT: (0, pytest.approx(2)),
    }
    assert report.recorded_minutes == pytest.approx(17)
    assert report.streamed_minutes == pytest.approx(10)


def test_it_counts_a_running_job_up_to_now():
    job(NOW, config=STREAM, status=EgressStatus.ACTIVE, started_at=NOW - timedelta(minutes=7))
    # Ended without an end time (LiveKit never said): no minutes rather than minutes up to now.
    job(NOW, config=STREAM, status=EgressStatus.FAILED, started_at=NOW - timedelta(minutes=9))

    report = build_report(7, now=NOW)

    assert report.streamed_minutes == pytest.approx(7)
    assert report.recorded_minutes == 0


def test_it_leaves_out_a_job_that_ended_before_it_started():
    ran(10, config=FILE)
    end = NOW - timedelta(hours=2)  # LiveKit's clocks disagreed: 30 minutes "before" it started
    job(end, config=FILE, started_at=end + timedelta(minutes=30), ended_at=end)

    report = build_report(7, now=NOW)

    assert report.recorded_minutes == pytest.approx(10)


def test_it_gives_the_failure_rate_over_finished_jobs():
    yesterday = NOW - timedelta(days=1)
    for status in (EgressStatus.COMPLETE, EgressStatus.FAILED, EgressStatus.ABORTED):
        job(NOW, status=status)
    job(NOW, status=EgressStatus.LIMIT_REACHED)
    job(NOW, status=EgressStatus.ACTIVE)  # not finished: not counted either way
    job(NOW, status="", launch_state=LaunchState.REFUSED)
    job(yesterday, status=EgressStatus.COMPLETE)

    report = build_report(7, now=NOW)

    assert (report.failed, report.finished) == (3, 5)
    assert report.failure_percent == 60.0
    today, before = report.per_day[-1], report.per_day[-2]
    assert (today.failed, today.finished, today.failure_percent) == (3, 4, 75.0)
    assert (before.failed, before.finished, before.failure_percent) == (0, 1, 0.0)
    assert report.per_day[0].failure_percent is None  # nothing finished that day
    assert report.chart_data()["failureRate"][-2:] == [0.0, 75.0]


@override_settings(EGRESS_CONCURRENCY_LIMIT=2)
def test_it_counts_active_egress_now_against_the_limit():
    long_ago = NOW - timedelta(days=400)  # active now, whenever it was created
    job(long_ago, status=EgressStatus.ACTIVE)
    job(NOW, status=EgressStatus.STARTING)
    job(NOW, status=EgressStatus.COMPLETE)
    job(NOW, status="", launch_state=LaunchState.LAUNCHING)

    report = build_report(7, now=NOW)

    assert (report.active, report.limit, report.over_limit) == (2, 2, True)


@pytest.mark.parametrize(
    ("given", "days"), [("7", 7), ("30", 30), ("90", 90), (None, 30), ("5", 30), ("x", 30)]
)
def test_it_only_takes_the_periods_it_offers(given, days):
    assert period_days(given) == days


# --- who may ------------------------------------------------------------------------------------
def test_it_sends_anonymous_visitors_to_the_login_page(client):
    response = client.get(REPORTS)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={REPORTS}"


@pytest.mark.parametrize("persona", ["outsider", "producer"])
def test_it_refuses_everyone_but_reviewers(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(REPORTS).status_code == 403


@pytest.mark.parametrize("persona", ["support", "admin"])
def test_it_shows_reviewers_the_report(client, request, persona):
    job(timezone.now(), status=EgressStatus.COMPLETE)
    client.force_login(request.getfixturevalue(persona))

    response = client.get(REPORTS)

    assert response.status_code == 200
    assert 'aria-current="page">Reports</a>' in response.content.decode()


@pytest.mark.parametrize(("persona", "shown"), [("producer", False), ("support", True)])
def test_it_links_the_page_from_the_nav_only_for_reviewers(client, request, persona, shown):
    client.force_login(request.getfixturevalue(persona))
    html = client.get(reverse("dashboard-job-list")).content.decode()
    nav = html.split('<nav aria-label="Main">')[1].split("</nav>")[0]
    assert (f'href="{REPORTS}"' in nav) is shown


# --- the page -----------------------------------------------------------------------------------
@override_settings(EGRESS_CONCURRENCY_LIMIT=2)
def test_it_shows_the_numbers_as_tables_and_chart_data(client, support):
    now = timezone.now()
    job(now, status=EgressStatus.ACTIVE, config=STREAM, started_at=now - timedelta(minutes=30))
    job(now, status=EgressStatus.FAILED)
    job(now, status=EgressStatus.COMPLETE)
    client.force_login(support)

    response = client.get(REPORTS, {"days": "7"})

    words = text_of(response)
    assert "1 of 2 egress allowed at once" in words
    assert "Failure rate 50.0 % 1 of 2 finished jobs failed" in words
    assert "Room composite 0.0 30.0" in words
    assert "Day Active Complete Failed All" in words
    assert words.count("Last 7 days") == 1
    html = response.content.decode()
    assert '<option value="7" selected>' in html
    data = json.loads(html.split('id="report-data" type="application/json">')[1].split("<")[0])
    assert len(data["days"]) == 7
    assert [status["label"] for status in data["statuses"]] == ["Active", "Complete", "Failed"]
    assert data["streamed"] == [30.0]
    failures = html.split('id="table-failures"')[1].split("</table>")[0]
    assert failures.count(">\N{EN DASH}</td>") == 6  # the days when nothing finished
    assert "vendor/chart-4.6.1.umd.min.js" in html
    assert "js/reports.js" in html


def test_it_summarizes_each_chart_and_keeps_every_day_behind_a_disclosure(client, support):
    now = timezone.now()
    job(now, status=EgressStatus.FAILED)
    job(now, status=EgressStatus.COMPLETE)
    job(now - timedelta(days=2), status=EgressStatus.COMPLETE)
    client.force_login(support)

    response = client.get(REPORTS, {"days": "30"})

    html = response.content.decode()
    day = timezone.localdate()
    today = f"{day:%a} {day.day} {day:%b %Y}"
    words = text_of(response)
    assert f"3 jobs on 2 of the 30 days; the busiest, {today}, had 2." in words
    summary = html.split('id="summary-jobs"')[1].split("</table>")[0]
    assert summary.count("<tr>") == 2  # its heading and the period's totals, not 30 days
    assert "Total 2 1 3" in text_of_html(summary)
    assert f"1 of 3 finished jobs failed (33.3 %); the worst day, {today}: 1 of 2 (50.0 %)." in (
        words
    )
    for table in ("table-jobs", "table-failures"):
        before = html.split(f'id="{table}"')[0]
        assert before.rfind('<details class="report-days">') > before.rfind("</details>"), table
    assert words.count("Every day (30 rows)") == 2


def test_it_says_when_there_is_nothing_to_report(client, admin):
    client.force_login(admin)

    response = client.get(REPORTS)

    words = text_of(response)
    assert "No jobs were created in the last 30 days: nothing to report yet." in words
    assert "0 egress running" in words
    assert "EGRESS_CONCURRENCY_LIMIT" in words
    assert "report-data" not in response.content.decode()


def test_it_warns_at_the_concurrency_limit(client, support, settings):
    settings.EGRESS_CONCURRENCY_LIMIT = 1
    job(timezone.now(), status=EgressStatus.ACTIVE)
    client.force_login(support)

    assert "At the concurrency limit" in text_of(client.get(REPORTS))


def test_it_loads_the_chart_library_on_the_reports_page_only(client, support):
    client.force_login(support)
    assert "chart-4.6.1" not in client.get(reverse("dashboard-failures")).content.decode()


def test_it_pins_the_query_count(client, support, django_assert_num_queries):
    now = timezone.now()
    for n in range(30):
        job(now - timedelta(days=n % 20), status=EgressStatus.COMPLETE, config=FILE, started_at=now)
    client.force_login(support)
    # Session, user, permissions (2), the kept days, counting the missing ones and keeping
    # them, yesterday and today, active now, the role.
    with django_assert_num_queries(10):
        client.get(REPORTS, {"days": "90"})
    # Every day before yesterday is kept now.
    with django_assert_num_queries(8):
        client.get(REPORTS, {"days": "90"})
