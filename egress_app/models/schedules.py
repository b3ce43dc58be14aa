"""Schedules: a recipe started in a room at a time (once, daily or weekly, in a time zone),
and each run of one (`ScheduleRun`), linked to the job it started."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from egress_app.models.base import NEEDS_JSON
from egress_app.models.recipes import Recipe


class Repeat(models.TextChoices):
    ONCE = "once", "Once"
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"


class RunState(models.TextChoices):
    WAITING = "waiting", "Waiting for the room"
    STARTED = "started", "Started"
    FAILED = "failed", "Failed to start"
    NEVER_STARTED = "never_started", "Room never started"
    MISSED = "missed", "Missed"

    @property
    def is_failure(self) -> bool:
        return self in (RunState.FAILED, RunState.NEVER_STARTED, RunState.MISSED)


class Schedule(models.Model):
    """Start `recipe` in `room_name` at `at_time` in `time_zone`: on `on_date` (once), every
    day, or on `weekdays` (0 Monday .. 6 Sunday). `next_run_at` (UTC) is the next start the
    worker owes, None once a one-off has run; a worker takes a due run by moving it on with
    a conditional update, so one run is started once however many workers run."""

    NAME_LENGTH = 100

    name = models.CharField(max_length=NAME_LENGTH, unique=True)
    # A deleted recipe leaves its schedules, whose runs then fail (visibly) until given another.
    recipe = models.ForeignKey(
        Recipe, null=True, on_delete=models.SET_NULL, related_name="schedules"
    )
    room_name = models.TextField()
    repeat = models.CharField(max_length=8, choices=Repeat.choices, default=Repeat.ONCE)
    on_date = models.DateField(null=True, blank=True)
    weekdays = models.JSONField(default=list, blank=True)
    at_time = models.TimeField()
    time_zone = models.CharField(max_length=64)
    # How long a run waits for its room to exist before it reports "room never started".
    wait_minutes = models.PositiveIntegerField(default=15)
    paused = models.BooleanField(default=False)
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        required_db_features = NEEDS_JSON
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ScheduleRun(models.Model):
    """One start a schedule owed (`due_at`): waiting for its room, started (with its job),
    failed, never started (the room did not come in time) or missed (no worker ran in time).
    Unique per schedule and time: a run is recorded once."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="runs")
    due_at = models.DateTimeField()
    state = models.CharField(max_length=16, choices=RunState.choices, default=RunState.WAITING)
    message = models.TextField(blank=True)
    job = models.ForeignKey(
        "egress_app.EgressJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Starts once however often it is tried: the launch token of its job.
    launch_token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # A waiting run's claim (several workers never try the same run at once).
    claim = models.UUIDField(null=True, blank=True, editable=False)
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-due_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "due_at"], name="schedule_run_once")
        ]
        indexes = [models.Index(fields=["state", "claimed_until"])]

    def __str__(self) -> str:
        return f"{self.schedule} at {self.due_at:%Y-%m-%d %H:%M} UTC"

    @property
    def failed(self) -> bool:
        return RunState(self.state).is_failure
