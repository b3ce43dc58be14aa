"""Schedules: a recipe started in a room at a time, and the worker's pass that starts them.

People create, change, pause, resume and delete schedules (each audited). The worker's pass
(`run_schedules`, from `manage.py egress_worker` every EGRESS_WORKER_INTERVAL):

1. takes each due schedule by moving its `next_run_at` on with a conditional update (only the
   worker whose update matched records the run, once, unique per schedule and time); a run
   taken later than EGRESS_SCHEDULE_GRACE_SECONDS after its time (no worker ran) is recorded
   missed and not started;
2. claims waiting runs (a conditional update with a lease, like the reconciler's jobs) and
   starts each one's recipe once its room exists (the run's launch token makes a retried
   start the same egress); a room that has not come within the schedule's wait is reported
   "room never started".

A missed, never started or failed run sends `run_failed` after its commit (for alerts).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone

from egress_app import names, schedule_times
from egress_app.actions.calls import LaunchError
from egress_app.actions.recipes import start_recipe
from egress_app.actions.vault import Actor, Errors, _value_changes, actor_id, audit, name_errors
from egress_app.livekit import LiveKitError, get_livekit_client
from egress_app.models import AuditAction, Recipe, Repeat, RunState, Schedule, ScheduleRun

logger = logging.getLogger(__name__)

# Sent after the commit that records a run missed, never started or failed to start, with
# `run` (a ScheduleRun): the hook for alerts ("schedule missed").
run_failed = Signal()

LONGEST_WAIT = 24 * 60  # minutes a run may wait for its room
EDITED = ("name", "recipe", "room_name", "repeat", "on_date", "weekdays", "at_time", "time_zone")


# --- what people do -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ScheduleValues:
    """A schedule as a form gives it, before it is checked."""

    name: str
    recipe_id: Any
    room_name: str
    repeat: str
    on_date: Any
    weekdays: list[int]
    at_time: Any
    time_zone: str
    wait_minutes: Any


def _errors(values: ScheduleValues, pk: int | None) -> Errors:
    errors = name_errors(Schedule, names.clean(values.name), pk=pk)
    if not Recipe.objects.filter(pk=_int(values.recipe_id) or 0).exists():
        errors["recipe"] = "Choose a recipe from the list."
    if not values.room_name.strip():
        errors["room_name"] = "Enter the room to start the recipe in."
    if values.repeat not in Repeat.values:
        errors["repeat"] = "Choose once, daily or weekly."
    if values.repeat == Repeat.ONCE and values.on_date is None:
        errors["on_date"] = "Enter the day to start it on."
    if values.repeat == Repeat.WEEKLY and not values.weekdays:
        errors["weekdays"] = "Choose at least one day of the week."
    if values.at_time is None:
        errors["at_time"] = "Enter the time to start it at, such as 09:00."
    if schedule_times.zone_or_none(values.time_zone) is None:
        errors["time_zone"] = "Choose a time zone from the list, such as Europe/Paris."
    wait = _int(values.wait_minutes)
    if wait is None or not 0 <= wait <= LONGEST_WAIT:
        errors["wait_minutes"] = f"Enter whole minutes from 0 to {LONGEST_WAIT}."
    return errors


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def next_run_of(schedule: Schedule, after: datetime) -> datetime | None:
    zone = schedule_times.zone_or_none(schedule.time_zone)
    if zone is None:
        return None
    return schedule_times.next_run(
        schedule.repeat,
        schedule.at_time,
        zone,
        after,
        on_date=schedule.on_date,
        weekdays=schedule.weekdays,
    )


def _fill(schedule: Schedule, values: ScheduleValues) -> None:
    schedule.name = names.clean(values.name)
    schedule.recipe_id = _int(values.recipe_id) or 0
    schedule.room_name = values.room_name.strip()
    schedule.repeat = values.repeat
    schedule.on_date = values.on_date if values.repeat == Repeat.ONCE else None
    schedule.weekdays = sorted(set(values.weekdays)) if values.repeat == Repeat.WEEKLY else []
    schedule.at_time = values.at_time
    schedule.time_zone = values.time_zone
    schedule.wait_minutes = _int(values.wait_minutes) or 0
    schedule.next_run_at = None if schedule.paused else next_run_of(schedule, timezone.now())
    if not schedule.paused and schedule.next_run_at is None:
        raise ValidationError({"on_date": "That time has passed: choose one still to come."})


@transaction.atomic
def save_schedule(
    actor: Actor, values: ScheduleValues, schedule: Schedule | None = None
) -> Schedule:
    """Create a schedule, or change `schedule`; ValidationError({field: message}) for bad
    values, writing nothing. Its next run is worked out again from now."""
    pk = schedule.pk if schedule else None
    if errors := _errors(values, pk):
        raise ValidationError(errors)
    if schedule is None:
        schedule = Schedule(created_by_id=actor_id(actor))
        _fill(schedule, values)
        schedule.save()
        audit(actor, AuditAction.CREATED, schedule, changed=EDITED)
        return schedule
    schedule = Schedule.objects.select_for_update().get(pk=schedule.pk)
    before = {name: getattr(schedule, name) for name in (*EDITED, "wait_minutes")}
    _fill(schedule, values)
    schedule.save()
    pairs = {name: (old, getattr(schedule, name)) for name, old in before.items()}
    if changed := _value_changes(pairs):
        audit(actor, AuditAction.CHANGED, schedule, changed=changed)
    return schedule


@transaction.atomic
def set_paused(actor: Actor, schedule: Schedule, *, paused: bool) -> Schedule:
    """Pause (no run is owed while paused) or resume (the next run from now on)."""
    schedule = Schedule.objects.select_for_update().get(pk=schedule.pk)
    if schedule.paused == paused:
        return schedule
    schedule.paused = paused
    schedule.next_run_at = None if paused else next_run_of(schedule, timezone.now())
    schedule.save(update_fields=["paused", "next_run_at", "updated_at"])
    outcome = "" if paused or schedule.next_run_at else "no run to come"
    audit(actor, AuditAction.PAUSED if paused else AuditAction.RESUMED, schedule, outcome=outcome)
    return schedule


@transaction.atomic
def delete_schedule(actor: Actor, schedule: Schedule) -> None:
    """Delete with its history; the jobs its runs started stay."""
    current = Schedule.objects.select_for_update().filter(pk=schedule.pk).first()
    if current is None:
        return
    audit(actor, AuditAction.DELETED, current)
    current.delete()


# --- the worker's pass --------------------------------------------------------------------------
@dataclass
class SchedulePass:
    """What one pass did (the worker prints it when it did something)."""

    due: int = 0
    started: int = 0
    failed: int = 0
    never_started: int = 0
    missed: int = 0

    def __bool__(self) -> bool:
        return any(vars(self).values())


def run_schedules() -> SchedulePass:
    done = SchedulePass()
    now = timezone.now()
    for schedule in _due(now):
        _take(schedule, now, done)
    token = uuid.uuid4()
    try:
        for run in _claim_waiting(token, now):
            _try(run, done)
    finally:
        ScheduleRun.objects.filter(claim=token).update(claim=None, claimed_until=None)
    return done


def _due(now: datetime) -> list[Schedule]:
    due = Schedule.objects.filter(paused=False, next_run_at__lte=now).order_by("next_run_at")
    return list(due[: settings.EGRESS_WORKER_BATCH])


def _take(schedule: Schedule, now: datetime, done: SchedulePass) -> None:
    """Record the run `schedule` owes, if this worker is the one that moves it on."""
    owed = schedule.next_run_at
    assert owed is not None  # `_due` took only schedules with one
    following = next_run_of(schedule, owed)
    late = now - owed > timedelta(seconds=settings.EGRESS_SCHEDULE_GRACE_SECONDS)
    with transaction.atomic():
        moved = Schedule.objects.filter(pk=schedule.pk, paused=False, next_run_at=owed)
        if moved.update(next_run_at=following) != 1:
            return  # another worker took it
        run = ScheduleRun.objects.create(schedule=schedule, due_at=owed)
        done.due += 1
        if late:
            _finish(run, RunState.MISSED, _missed_message(schedule, owed, now))
            done.missed += 1


def _missed_message(schedule: Schedule, owed: datetime, now: datetime) -> str:
    return (
        f"Missed: no worker ran from {label(schedule, owed)} until {label(schedule, now)}, past "
        f"the {settings.EGRESS_SCHEDULE_GRACE_SECONDS:g} s grace; it was not started late."
    )


def label(schedule: Schedule, moment: datetime) -> str:
    """`moment` on the schedule's clock, with its zone's abbreviation."""
    zone = schedule_times.zone_or_none(schedule.time_zone)
    return schedule_times.local_label(moment, zone) if zone else f"{moment:%Y-%m-%d %H:%M} UTC"


def _claim_waiting(token: uuid.UUID, now: datetime) -> list[ScheduleRun]:
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    waiting = ScheduleRun.objects.filter(free, state=RunState.WAITING).order_by("due_at")
    ids = list(waiting.values_list("pk", flat=True)[: settings.EGRESS_WORKER_BATCH])
    lease = now + timedelta(seconds=max(30.0, 6 * float(settings.EGRESS_WORKER_INTERVAL)))
    waiting.filter(pk__in=ids).update(claim=token, claimed_until=lease)
    return list(ScheduleRun.objects.filter(claim=token).select_related("schedule__recipe"))


def _try(run: ScheduleRun, done: SchedulePass) -> None:
    schedule = run.schedule
    if schedule.recipe is None:
        _finish(run, RunState.FAILED, "Not started: its recipe was deleted; choose another.")
        done.failed += 1
        return
    web = schedule.recipe.config.get("kind") == "web"
    try:
        here = web or _room_exists(schedule.room_name)
    except LiveKitError as error:
        here, why = False, f"LiveKit could not list the rooms: {error.plain}"
    else:
        why = f"Room never started: no room {schedule.room_name!r}"
    if here:
        _start(run, done)
        return
    deadline = run.due_at + timedelta(minutes=schedule.wait_minutes)
    if timezone.now() >= deadline:
        waited = f"{why} by {label(schedule, deadline)} (waited {schedule.wait_minutes} min)."
        _finish(run, RunState.NEVER_STARTED, waited)
        done.never_started += 1


def _room_exists(name: str) -> bool:
    rooms = async_to_sync(get_livekit_client().list_rooms)([name])
    return any(room.name == name for room in rooms)


def _start(run: ScheduleRun, done: SchedulePass) -> None:
    schedule = run.schedule
    assert schedule.recipe is not None  # `_try` checked
    actor = schedule.created_by
    try:
        job = start_recipe(
            actor, schedule.recipe, room_name=schedule.room_name, launch_token=run.launch_token
        )
    except ValidationError as error:
        _finish(run, RunState.FAILED, "Not started: " + " ".join(error.messages))
        done.failed += 1
        return
    except LaunchError as error:
        _finish(run, RunState.FAILED, f"LiveKit refused it: {error.job.error}", job=error.job)
        done.failed += 1
        return
    _finish(run, RunState.STARTED, f"Started job {job.pk}.", job=job)
    done.started += 1


def _finish(run: ScheduleRun, state: RunState, message: str, job: Any = None) -> None:
    """The run's outcome, written once (a run that has left WAITING keeps its first)."""
    with transaction.atomic():
        updated = ScheduleRun.objects.filter(pk=run.pk, state=RunState.WAITING).update(
            state=state, message=message, job=job, finished_at=timezone.now()
        )
        if updated and state.is_failure:
            run.state, run.message = state, message
            transaction.on_commit(lambda: run_failed.send(sender=ScheduleRun, run=run))
    if updated and state.is_failure:
        logger.warning("Schedule %s: %s", run.schedule_id, message)
