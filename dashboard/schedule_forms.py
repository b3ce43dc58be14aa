"""The schedule form: a recipe, a room, when (once on a day, daily, or weekly on some days) and
in which time zone. The domain (egress_app/actions/schedules.py) checks the rest."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.conf import settings

from egress_app.actions.schedules import LONGEST_WAIT, ScheduleValues
from egress_app.models import Recipe, Repeat, Schedule
from egress_app.schedule_times import WEEKDAY_NAMES, zone_names


class ScheduleForm(forms.Form):
    name = forms.CharField(max_length=Schedule.NAME_LENGTH)
    recipe = forms.ChoiceField(choices=[])
    room_name = forms.CharField(label="Room", help_text="The room it starts in, by name.")
    repeat = forms.ChoiceField(choices=Repeat.choices, initial=Repeat.ONCE)
    on_date = forms.DateField(
        label="Day",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="For a one-off.",
    )
    weekdays = forms.TypedMultipleChoiceField(
        label="Days",
        required=False,
        coerce=int,
        choices=list(enumerate(WEEKDAY_NAMES)),
        widget=forms.CheckboxSelectMultiple,
        help_text="For a weekly schedule.",
    )
    at_time = forms.TimeField(label="Time", widget=forms.TimeInput(attrs={"type": "time"}))
    time_zone = forms.ChoiceField(
        choices=[], help_text="Times are on this zone's clock, daylight saving included."
    )
    wait_minutes = forms.IntegerField(
        label="Wait for the room",
        min_value=0,
        max_value=LONGEST_WAIT,
        initial=15,
        help_text="Minutes; if the room has not started by then, the run is reported.",
    )

    def __init__(self, *args: Any, recipes: Iterable[Recipe] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        recipe: Any = self.fields["recipe"]
        recipe.choices = [("", "Choose…"), *((str(r.pk), r.name) for r in recipes)]
        zone: Any = self.fields["time_zone"]
        zone.choices = [(name, name) for name in zone_names()]
        zone.initial = settings.TIME_ZONE

    def values(self) -> ScheduleValues:
        data = self.cleaned_data
        return ScheduleValues(
            name=data["name"],
            recipe_id=data["recipe"],
            room_name=data["room_name"],
            repeat=data["repeat"],
            on_date=data.get("on_date"),
            weekdays=list(data.get("weekdays") or []),
            at_time=data.get("at_time"),
            time_zone=data["time_zone"],
            wait_minutes=data["wait_minutes"],
        )


def initial_for(schedule: Schedule) -> dict[str, Any]:
    return {
        "name": schedule.name,
        "recipe": str(schedule.recipe_id or ""),
        "room_name": schedule.room_name,
        "repeat": schedule.repeat,
        "on_date": schedule.on_date,
        "weekdays": schedule.weekdays,
        "at_time": schedule.at_time,
        "time_zone": schedule.time_zone,
        "wait_minutes": schedule.wait_minutes,
    }
