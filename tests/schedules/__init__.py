"""Helpers for the schedules' tests: a recipe and a schedule due now."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from egress_app.actions.recipes import save_recipe
from egress_app.models import Recipe, Schedule
from tests.jobs import file_config, make_profile


def make_recipe(actor: Any, name: str = "Town hall 720p") -> Recipe:
    return save_recipe(actor, name=name, config=file_config(make_profile(actor)))


def due_schedule(
    actor: Any, *, room: str = "town-hall", due: datetime | None = None, **extra: Any
) -> Schedule:
    """A one-off schedule whose run is due at `due` (now by default), written directly: the
    form refuses a time already past."""
    due = due or timezone.now()
    values: dict[str, Any] = {
        "name": "Morning show",
        "recipe": make_recipe(actor),
        "room_name": room,
        "repeat": "once",
        "on_date": due.date(),
        "at_time": due.time(),
        "time_zone": "UTC",
        "wait_minutes": 15,
        "next_run_at": due,
        "created_by": actor,
    }
    return Schedule.objects.create(**(values | extra))


def minutes_ago(minutes: float) -> datetime:
    return timezone.now() - timedelta(minutes=minutes)
