"""A job's duration and time left: a running job's duration is how long it has run so far
(LiveKit sends no news while an egress runs well), and where LiveKit would end it (LiveKit
Cloud's 3 h for files, 12 h for streams; a self-hosted egress as set) the time left."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.settings import env_seconds
from egress_app.models import EgressJob, EgressStatus
from tests.dashboard.test_home import text_of

pytestmark = pytest.mark.django_db

FILE = {"outputs": {"file": {"filepath": "rec/{room_name}.mp4"}}}
STREAM = {"outputs": {"stream": {"urls": []}}}
BOTH = {"outputs": FILE["outputs"] | STREAM["outputs"]}


def running(producer, config, *, minutes: int = 7) -> EgressJob:
    started = timezone.now() - timedelta(minutes=minutes)
    return EgressJob.objects.create(
        egress_id="EG_running",
        kind="room_composite",
        room_name="town-hall",
        status=EgressStatus.ACTIVE,
        started_by=producer,
        config=config,
        started_at=started,
        updated_at=started + timedelta(seconds=1),  # LiveKit's last news: it became active
    )


def page_of(client, producer, job: EgressJob):
    client.force_login(producer)
    response = client.get(reverse("dashboard-job-detail", args=[job.pk]))
    assert response.status_code == 200
    return response


@pytest.fixture
def no_limits(settings):
    settings.EGRESS_MAX_FILE_SECONDS = None
    settings.EGRESS_MAX_STREAM_SECONDS = None


def test_it_shows_how_long_a_running_job_has_run_not_its_last_news(client, producer, no_limits):
    response = page_of(client, producer, running(producer, FILE))

    assert re.search(r'data-ticks="up" data-seconds="42[01]"', response.content.decode())
    assert "Duration 0:07:0" in text_of(response)
    assert "0:00:01" not in text_of(response)
    assert "Time left" not in text_of(response)


def test_it_shows_a_finished_jobs_duration_still(client, producer, no_limits):
    job = running(producer, FILE)
    job.status, job.ended_at = EgressStatus.COMPLETE, job.started_at + timedelta(minutes=5)
    job.save()

    response = page_of(client, producer, job)

    assert "Duration 0:05:00" in text_of(response)
    assert "data-ticks" not in response.content.decode()


def test_it_shows_the_time_left_before_livekit_ends_a_file_egress(client, producer, settings):
    settings.EGRESS_MAX_FILE_SECONDS = 3 * 3600.0
    settings.EGRESS_MAX_STREAM_SECONDS = 12 * 3600.0

    text = text_of(page_of(client, producer, running(producer, FILE)))

    assert "Time left 2:53:0" in text
    assert "(LiveKit ends file egress after 3 h)" in text


def test_it_counts_the_first_limit_reached_of_a_file_and_a_stream(client, producer, settings):
    settings.EGRESS_MAX_FILE_SECONDS = 3 * 3600.0
    settings.EGRESS_MAX_STREAM_SECONDS = 12 * 3600.0

    text = text_of(page_of(client, producer, running(producer, BOTH, minutes=60)))

    assert "Time left 2:00:0" in text
    assert "file egress after 3 h" in text


def test_it_counts_a_streams_own_limit(client, producer, settings):
    settings.EGRESS_MAX_FILE_SECONDS = 3 * 3600.0
    settings.EGRESS_MAX_STREAM_SECONDS = 12 * 3600.0

    text = text_of(page_of(client, producer, running(producer, STREAM, minutes=60)))

    assert "Time left 11:00:0" in text
    assert "(LiveKit ends stream egress after 12 h)" in text


def test_it_shows_no_time_left_past_the_limit_as_negative(client, producer, settings):
    settings.EGRESS_MAX_FILE_SECONDS = 60.0

    text = text_of(page_of(client, producer, running(producer, FILE)))

    assert "Time left 0:00:00" in text


def test_it_reads_a_limit_in_seconds_and_empty_as_none(monkeypatch):
    monkeypatch.setenv("EGRESS_MAX_FILE_SECONDS", "")
    monkeypatch.setenv("EGRESS_MAX_STREAM_SECONDS", "7200")

    assert env_seconds("EGRESS_MAX_FILE_SECONDS", 10800.0) is None
    assert env_seconds("EGRESS_MAX_STREAM_SECONDS", None) == 7200.0
    assert env_seconds("EGRESS_NOT_SET_AT_ALL", 10800.0) == 10800.0
