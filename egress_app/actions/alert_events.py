"""Raising alerts: each event the notification rules listen for, turned into one Alert (once
per dedupe key: one per job and cause) and a delivery for each enabled channel of each
enabled rule that matches. Rows are written after the caller's transaction commits, so the
webhook or page that noticed the event answers as fast as before; the worker sends
(egress_app/actions/alert_delivery.py).

`schedule_missed` is here for the schedules to call when they are wired in.
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from egress_app.failures import UNKNOWN_PREFIX, described
from egress_app.models import (
    Alert,
    AlertChannel,
    AlertDelivery,
    AlertEvent,
    EgressJob,
    JobFlag,
    NotificationRule,
    ScheduleRun,
    StorageProfile,
)

logger = logging.getLogger("egress_app.alerts")

STUCK_CAUSES = frozenset(flag.value for flag in JobFlag)
LIMIT_WINDOW_SECONDS = 600  # one concurrency-limit alert per ten minutes


@dataclass(frozen=True)
class Raised:
    """An event as the rules see it; `room`, `kind` and `cause` are empty when it has none."""

    event: AlertEvent
    key: str
    title: str
    text: str
    link: str = ""
    room: str = ""
    kind: str = ""
    cause: str = ""
    job_id: int | None = None


def raise_alert(raised: Raised) -> None:
    """Record `raised` and its deliveries once the caller's transaction commits (at once
    outside one); a failure to record is logged, never the caller's error."""
    transaction.on_commit(lambda: _record(raised), robust=True)


def _record(raised: Raised) -> Alert | None:
    channels = matching_channels(raised)
    if not channels:
        return None
    with transaction.atomic():
        alert, created = Alert.objects.get_or_create(
            dedupe_key=raised.key[:200],
            defaults={
                "event": raised.event,
                "job_id": raised.job_id,
                "room_name": raised.room[:200],
                "title": raised.title[:300],
                "text": raised.text,
                "link": raised.link[:500],
            },
        )
        if not created:
            return None
        AlertDelivery.objects.bulk_create(
            AlertDelivery(alert=alert, channel=channel) for channel in channels
        )
    logger.info("Alert %s (%s) to %d channel(s)", alert.pk, raised.event, len(channels))
    return alert


def matching_channels(raised: Raised) -> list[AlertChannel]:
    """The enabled channels of the enabled rules `raised` matches, each once."""
    rules = NotificationRule.objects.filter(enabled=True).prefetch_related("channels")
    found: dict[int, AlertChannel] = {}
    for rule in rules:
        if matches(rule, raised):
            found.update((c.pk, c) for c in rule.channels.all() if c.enabled)
    return list(found.values())


def matches(rule: NotificationRule, raised: Raised) -> bool:
    """Whether `rule` wants `raised`: its event, and (where the event has them) its cause,
    its room matching the rule's pattern and its kind. A filter the event cannot have (a
    storage test has no room) does not hold it back."""
    if raised.event not in rule.events:
        return False
    if rule.causes and raised.cause and _cause_key(raised.cause) not in rule.causes:
        return False
    if (
        rule.room_pattern
        and raised.room
        and not fnmatch.fnmatchcase(raised.room, rule.room_pattern)
    ):
        return False
    return not (rule.kinds and raised.kind and raised.kind not in rule.kinds)


def _cause_key(cause: str) -> str:
    return "unknown" if cause.startswith(UNKNOWN_PREFIX) else cause


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def job_link(job: EgressJob) -> str:
    """The job page's absolute address (SITE_ROOT: the dashboard's public URL)."""
    return settings.SITE_ROOT + reverse("dashboard-job-detail", args=[job.pk])


def _job_name(job: EgressJob) -> str:
    return f"Job {job.pk} ({job.get_kind_display()}) in {job.room_name or 'no room'}"


# --- the events ---------------------------------------------------------------------------------
def job_needs_a_person(job: EgressJob) -> None:
    """A job failed, or the reconciler flagged it stuck, silent or lost: once per cause."""
    cause, message = described(job.cause)
    stuck = job.cause in STUCK_CAUSES
    words = " ".join(part for part in (message or job.error, cause.hint) if part)
    raise_alert(
        Raised(
            AlertEvent.JOB_STUCK if stuck else AlertEvent.JOB_FAILED,
            key=f"job:{job.pk}:cause:{_digest(job.cause)}",
            title=f"{_job_name(job)}: {cause.title}",
            text=words,
            link=job_link(job),
            room=job.room_name,
            kind=job.kind,
            cause=job.cause,
            job_id=job.pk,
        )
    )


def stream_failed(job: EgressJob, stream: dict[str, Any]) -> None:
    """One of a running job's streams failed (LiveKit's stream_results status FAILED)."""
    url = str(stream.get("url") or "")
    error = str(stream.get("error") or "LiveKit gave no reason.")
    raise_alert(
        Raised(
            AlertEvent.STREAM_FAILED,
            key=f"job:{job.pk}:stream:{_digest(url)}",
            title=f"{_job_name(job)}: a stream destination failed",
            text=f"The stream to {url or 'a destination'} failed: {error} The job goes on.",
            link=job_link(job),
            room=job.room_name,
            kind=job.kind,
            job_id=job.pk,
        )
    )


def concurrency_refused(message: str, *, room: str = "", kind: str = "") -> None:
    """A start was refused at EGRESS_CONCURRENCY_LIMIT: at most one alert per ten minutes."""
    window = int(timezone.now().timestamp() // LIMIT_WINDOW_SECONDS)
    raise_alert(
        Raised(
            AlertEvent.CONCURRENCY_LIMIT,
            key=f"limit:{window}",
            title="A start was refused: the concurrency limit is reached",
            text=message,
            link=settings.SITE_ROOT + reverse("dashboard-home"),
            room=room,
            kind=kind,
        )
    )


def storage_test_failed(profile: StorageProfile) -> None:
    """A storage profile's Test failed: once per test."""
    tested = profile.last_tested_at or timezone.now()
    raise_alert(
        Raised(
            AlertEvent.STORAGE_TEST_FAILED,
            key=f"storage:{profile.pk}:{tested.isoformat()}",
            title=f"Storage profile {profile.name}: its Test failed",
            text=profile.last_test_message,
            link=settings.SITE_ROOT + reverse("dashboard-storage-edit", args=[profile.pk]),
        )
    )


def schedule_missed(
    *, schedule_id: int, name: str, room: str, due_at: datetime, what: str, link: str = ""
) -> None:
    """A scheduled run that did not start (missed while the worker was down, the room never
    started, or LiveKit refused it): once per schedule and due time. `what` says which, in the
    schedule's words; `link` is its page's absolute address."""
    raise_alert(
        Raised(
            AlertEvent.SCHEDULE_MISSED,
            key=f"schedule:{schedule_id}:{due_at.isoformat()}",
            title=f"Schedule {name} did not start in {room}",
            text=f"It was due at {due_at.isoformat()}: {what}",
            link=link,
            room=room,
        )
    )


def schedule_run_failed(sender: type[ScheduleRun], run: ScheduleRun, **kwargs: Any) -> None:
    """The receiver of the schedules' `run_failed` signal (sent after the run's commit)."""
    schedule = run.schedule
    schedule_missed(
        schedule_id=schedule.pk,
        name=schedule.name,
        room=schedule.room_name,
        due_at=run.due_at,
        what=run.message,
        link=settings.SITE_ROOT + reverse("dashboard-schedule-detail", args=[schedule.pk]),
    )


# --- watching jobs ------------------------------------------------------------------------------
def remember_cause(sender: type[EgressJob], instance: EgressJob, **kwargs: Any) -> None:
    """A pre_save receiver connected before the catalogue's `keep_cause`: the cause as stored."""
    instance._cause_before = instance.cause if instance.pk else ""  # type: ignore[attr-defined]


def job_saved(sender: type[EgressJob], instance: EgressJob, raw: bool, **kwargs: Any) -> None:
    """A post_save receiver: alert a new cause, and a failed stream of a running job."""
    if raw:
        return
    if instance.cause and instance.cause != getattr(instance, "_cause_before", ""):
        job_needs_a_person(instance)
    if instance.is_active:
        for stream in (instance.results or {}).get("streams") or []:
            if stream.get("status") == "FAILED":
                stream_failed(instance, stream)
