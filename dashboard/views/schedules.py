"""Schedules: producers and admins add, change, pause and delete them; support reads them and
their history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from dashboard.schedule_forms import ScheduleForm, initial_for
from egress_app.actions import schedules as schedule_actions
from egress_app.models import Recipe, Schedule, ScheduleRun
from egress_app.roles import LAUNCH_EGRESS, VIEW_DASHBOARD, perm
from egress_app.schedule_times import WEEKDAY_NAMES

can_view = permission_required(perm(VIEW_DASHBOARD), raise_exception=True)
can_manage = permission_required(perm(LAUNCH_EGRESS), raise_exception=True)

LIST = "dashboard-schedule-list"
HISTORY_LENGTH = 100


@dataclass(frozen=True)
class ScheduleRow:
    schedule: Schedule
    last: ScheduleRun | None

    @property
    def next_label(self) -> str:
        when = self.schedule.next_run_at
        return schedule_actions.label(self.schedule, when) if when else ""

    @property
    def when(self) -> str:
        return when_text(self.schedule)


def when_text(schedule: Schedule) -> str:
    """ "Weekly on Mon, Wed at 09:00 (Europe/Paris)" and the like."""
    at = f"at {schedule.at_time:%H:%M} ({schedule.time_zone})"
    if schedule.repeat == "once":
        return f"Once on {schedule.on_date:%a %-d %b %Y} {at}" if schedule.on_date else at
    if schedule.repeat == "daily":
        return f"Daily {at}"
    days = ", ".join(WEEKDAY_NAMES[day] for day in schedule.weekdays)
    return f"Weekly on {days} {at}"


def _get_schedule(pk: int) -> Schedule:
    return get_object_or_404(Schedule.objects.select_related("recipe"), pk=pk)


def _rows() -> list[ScheduleRow]:
    schedules = list(Schedule.objects.select_related("recipe"))
    last: dict[int, ScheduleRun] = {}
    for run in ScheduleRun.objects.filter(schedule__in=schedules).order_by("due_at", "pk"):
        last[run.schedule_id] = run
    return [ScheduleRow(schedule, last.get(schedule.pk)) for schedule in schedules]


@can_view
@require_GET
def schedule_list(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/schedule_list.html", {"rows": _rows()})


@can_view
@require_GET
def schedule_detail(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = _get_schedule(pk)
    runs = schedule.runs.select_related("job")[:HISTORY_LENGTH]
    # Each run's time on the schedule's own clock, as its next run is shown.
    history = [(run, schedule_actions.label(schedule, run.due_at)) for run in runs]
    context = {"schedule": schedule, "row": ScheduleRow(schedule, None), "runs": history}
    return render(request, "dashboard/schedule_detail.html", context)


def _form_page(request: HttpRequest, schedule: Schedule | None) -> HttpResponse:
    recipes = Recipe.objects.all()
    initial = initial_for(schedule) if schedule else {}
    form = ScheduleForm(request.POST or None, initial=initial, recipes=recipes)
    if request.method == "POST" and form.is_valid():
        try:
            saved = schedule_actions.save_schedule(request.user, form.values(), schedule)
        except ValidationError as error:
            for field, texts in error.message_dict.items():
                form.add_error(field if field in form.fields else None, " ".join(texts))
        else:
            messages.success(request, f"Saved the schedule {saved.name}.")
            return redirect("dashboard-schedule-detail", saved.pk)
    context: dict[str, Any] = {"form": form, "schedule": schedule, "has_recipes": recipes.exists()}
    return render(request, "dashboard/schedule_form.html", context, status=_status(request, form))


def _status(request: HttpRequest, form: ScheduleForm) -> int:
    return 400 if request.method == "POST" and form.errors else 200


@can_manage
def schedule_add(request: HttpRequest) -> HttpResponse:
    return _form_page(request, None)


@can_manage
def schedule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _form_page(request, _get_schedule(pk))


@can_manage
@require_POST
def schedule_pause(request: HttpRequest, pk: int) -> HttpResponse:
    paused = request.POST.get("paused") == "yes"
    schedule = schedule_actions.set_paused(request.user, _get_schedule(pk), paused=paused)
    messages.success(request, f"{'Paused' if paused else 'Resumed'} {schedule.name}.")
    return redirect("dashboard-schedule-detail", schedule.pk)


@can_manage
def schedule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = _get_schedule(pk)
    if request.method == "POST":
        schedule_actions.delete_schedule(request.user, schedule)
        messages.success(request, f"Deleted the schedule {schedule.name}.")
        return redirect(LIST)
    context = {"target": schedule, "kind": "schedule", "cancel": LIST}
    return render(request, "dashboard/schedule_delete.html", context)
