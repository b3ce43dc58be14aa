"""One meaning per word for a job's times ("Created": the dashboard recorded it; "Started":
LiveKit started its egress), and every time says its zone: pages (the server's TIME_ZONE,
labelled, until the browser shows the reader's), the CSV (ISO 8601 with its offset), Reports
(its days) and file-name placeholders (UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from dashboard.forms import JobFilterForm, StorageProfileForm
from dashboard.launch_forms import LaunchForm
from egress_app.models import EgressJob, EgressStatus
from tests.dashboard.test_home import text_of
from tests.dashboard.test_job_history import exported

pytestmark = pytest.mark.django_db

CREATED = datetime(2026, 12, 5, 16, 53, 4, tzinfo=UTC)
STARTED = CREATED + timedelta(hours=2)


@pytest.fixture
def paris(settings):
    settings.TIME_ZONE = "Europe/Paris"


@pytest.fixture
def failed(producer) -> EgressJob:
    job = EgressJob.objects.create(
        egress_id="EG_timesFailed1",
        kind="room_composite",
        room_name="town-hall",
        status=EgressStatus.FAILED,
        started_by=producer,
        config={"kind": "room_composite", "room_name": "town-hall", "outputs": {"file": {}}},
        started_at=STARTED,
        ended_at=STARTED + timedelta(minutes=1),
        error="connection to room failed",
    )
    EgressJob.objects.filter(pk=job.pk).update(created_at=CREATED)
    job.refresh_from_db()
    return job


def test_it_calls_the_failures_time_created_as_it_is(client, support, failed, paris):
    client.force_login(support)

    text = text_of(client.get(reverse("dashboard-failures")))

    assert "Room Created Triage" in text
    assert "2026-12-05 17:53 CET" in text  # created_at, in Paris, labelled
    assert "19:53" not in text


def test_it_shows_a_jobs_created_and_started_times_with_their_zone(client, producer, failed, paris):
    client.force_login(producer)

    text = text_of(client.get(reverse("dashboard-job-detail", args=[failed.pk])))

    assert "Created 2026-12-05 17:53:04 CET" in text
    assert "Started 2026-12-05 19:53:04 CET" in text


def test_it_names_the_job_lists_days_as_days_created():
    form = JobFilterForm({})

    assert (form["since"].label, form["until"].label) == ("Created from", "Created to")


def test_it_exports_times_in_iso_8601_with_their_offset(client, support, failed, paris):
    client.force_login(support)

    row = exported(client.get(reverse("dashboard-job-export")))[0]

    assert row["created_at"] == "2026-12-05T17:53:04+01:00"
    assert row["started_at"] == "2026-12-05T19:53:04+01:00"


def test_it_says_which_zone_the_reports_days_are_in(client, support, paris):
    client.force_login(support)

    text = text_of(client.get(reverse("dashboard-reports")))

    assert "Days run midnight to midnight in Europe/Paris" in text


def test_it_says_file_name_times_are_in_utc():
    profile_help = StorageProfileForm.base_fields["path_template"].help_text
    launch_help = LaunchForm.base_fields["outputs__file__filepath"].help_text

    assert "{time} and {utc} are in UTC" in profile_help
    assert "({time} and {utc} in UTC)" in launch_help
