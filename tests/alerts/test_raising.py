"""Which events raise alerts, once per job and cause, for the rules that want them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from egress_app import actions
from egress_app.actions import alert_events
from egress_app.actions.schedules import run_schedules
from egress_app.models import (
    Alert,
    AlertDelivery,
    EgressJob,
    EgressStatus,
    JobFlag,
    StorageProfile,
)
from egress_app.storage.probes import ProbeResult
from tests.alerts.conftest import email_channel, rule, webhook_channel
from tests.jobs import file_config, make_profile, start
from tests.schedules import due_schedule, minutes_ago

# Committed for real: alerts are recorded once the change that raised them commits.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def failed_job(room: str = "town-hall", error: str = "upload failed: access denied") -> EgressJob:
    return EgressJob.objects.create(
        kind="room_composite",
        room_name=room,
        egress_id=f"EG_{room}",
        status=EgressStatus.FAILED,
        error=error,
    )


def test_it_raises_one_alert_per_job_and_cause(admin):
    channel = email_channel(admin)
    rule(admin, channel, events=["job_failed"])

    job = failed_job()
    job.details = "retried webhook: the same failure again"
    job.save()

    [alert] = Alert.objects.all()
    assert alert.event == "job_failed"
    assert alert.job == job
    assert "Uploading the output failed" in alert.title
    assert list(alert.deliveries.values_list("channel", flat=True)) == [channel.pk]


def test_it_raises_again_for_a_new_cause_of_the_same_job(admin):
    rule(admin, email_channel(admin), events=["job_failed", "job_stuck"])
    job = EgressJob.objects.create(
        kind="web", room_name="", egress_id="EG_1", status=EgressStatus.ACTIVE
    )

    job.flag = JobFlag.SILENT
    job.save()
    job.flag, job.status, job.error = "", EgressStatus.FAILED, "pipeline frozen"
    job.save()

    assert list(Alert.objects.order_by("pk").values_list("event", flat=True)) == [
        "job_stuck",
        "job_failed",
    ]


def test_it_links_the_alert_to_the_job_page_at_site_root(admin, settings):
    settings.SITE_ROOT = "https://egress.example.com"
    rule(admin, email_channel(admin), events=["job_failed"])

    job = failed_job()

    assert Alert.objects.get().link == f"https://egress.example.com/jobs/{job.pk}/"


@pytest.mark.parametrize(
    ("room", "filters", "alerted"),
    [
        ("webinar-42", {"room_pattern": "webinar-*"}, True),
        ("town-hall", {"room_pattern": "webinar-*"}, False),
        ("town-hall", {"kinds": ["room_composite"]}, True),
        ("town-hall", {"kinds": ["track"]}, False),
        ("town-hall", {"causes": ["upload_failed"]}, True),
        ("town-hall", {"causes": ["no_worker", "unknown"]}, False),
    ],
)
def test_it_alerts_only_the_rooms_kinds_and_causes_a_rule_names(admin, room, filters, alerted):
    rule(admin, email_channel(admin), events=["job_failed"], **filters)

    failed_job(room)

    assert Alert.objects.exists() is alerted


def test_it_matches_an_unknown_cause_by_the_unknown_key(admin):
    rule(admin, email_channel(admin), events=["job_failed"], causes=["unknown"])

    failed_job(error="something nobody has seen before")

    assert Alert.objects.exists()


def test_it_alerts_no_one_through_a_rule_or_channel_that_is_off(admin):
    off = email_channel(admin, name="Off", enabled=False)
    rule(admin, off, events=["job_failed"], name="Channel off")
    rule(admin, email_channel(admin), events=["job_failed"], name="Rule off", enabled=False)

    failed_job()

    assert not Alert.objects.exists()


def test_it_alerts_each_channel_once_when_several_rules_name_it(admin, receiver):
    email, hook = email_channel(admin), webhook_channel(admin, receiver.url)
    rule(admin, email, hook, events=["job_failed"], name="All failures")
    rule(admin, email, events=["job_failed"], room_pattern="town-*", name="Town rooms")

    failed_job()

    assert AlertDelivery.objects.count() == 2


def test_it_alerts_a_failed_stream_of_a_running_job_once(admin):
    rule(admin, email_channel(admin), events=["stream_failed"])
    streams = [
        {"url": "rtmp://fail.example.com/live/••••", "status": "FAILED", "error": "no such host"},
        {"url": "rtmp://a.rtmp.youtube.com/live2/••••", "status": "ACTIVE", "error": ""},
    ]
    job = EgressJob.objects.create(
        kind="room_composite",
        room_name="town-hall",
        egress_id="EG_stream",
        status=EgressStatus.ACTIVE,
        results={"streams": streams},
    )
    job.save()
    job.save()

    [alert] = Alert.objects.all()
    assert alert.event == "stream_failed"
    assert "rtmp://fail.example.com/live/••••" in alert.text
    assert "no such host" in alert.text


def test_it_alerts_a_start_refused_at_the_concurrency_limit(admin, producer, settings):
    settings.EGRESS_CONCURRENCY_LIMIT = 1
    rule(admin, email_channel(admin), events=["concurrency_limit"], room_pattern="town-*")
    EgressJob.objects.create(kind="web", egress_id="EG_busy", status=EgressStatus.ACTIVE)

    with pytest.raises(ValidationError, match="EGRESS_CONCURRENCY_LIMIT"):
        start(producer, file_config(make_profile(admin)))
    with pytest.raises(ValidationError):
        start(producer, file_config(StorageProfile.objects.get(), room="town-square"))

    [alert] = Alert.objects.all()  # one per ten minutes, however many starts are refused
    assert alert.event == "concurrency_limit"
    assert alert.room_name == "town-hall"
    assert "1 of the 1 egress" in alert.text


def test_it_alerts_a_failed_storage_test(admin):
    rule(admin, email_channel(admin), events=["storage_test_failed"], room_pattern="webinar-*")
    profile = make_profile(admin)

    actions.record_storage_test(admin, profile, ProbeResult(True, "All good.", []))
    actions.record_storage_test(admin, profile, ProbeResult(False, "Access denied.", []))

    [alert] = Alert.objects.all()
    assert alert.event == "storage_test_failed"
    assert alert.text == "Access denied."
    assert alert.link.endswith(f"/storage/{profile.pk}/")


def test_it_alerts_a_missed_schedule_once_per_due_time(admin):
    rule(admin, email_channel(admin), events=["schedule_missed"])
    due = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)

    for _ in range(2):
        alert_events.schedule_missed(
            schedule_id=4, name="Daily standup", room="standup", due_at=due, what="missed"
        )

    [alert] = Alert.objects.all()
    assert alert.title == "Schedule Daily standup did not start in standup"


def test_it_alerts_a_schedule_run_the_worker_recorded_missed(
    admin, producer, sandbox, django_capture_on_commit_callbacks
):
    """The schedules' `run_failed` signal reaches the alerts: a run missed while no worker ran."""
    rule(admin, email_channel(admin), events=["schedule_missed"])
    schedule = due_schedule(producer, due=minutes_ago(10))  # past the grace: missed
    with django_capture_on_commit_callbacks(execute=True):
        run_schedules()

    [alert] = Alert.objects.all()
    assert alert.title == f"Schedule {schedule.name} did not start in {schedule.room_name}"
    assert "it was not started late" in alert.text
    assert alert.link.endswith(f"/schedules/{schedule.pk}/")
