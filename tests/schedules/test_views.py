"""The Schedules pages: who may open and change what, the form's checks, and every change
audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from egress_app.models import AuditAction, AuditEntry, AuditTarget, RunState, Schedule, ScheduleRun
from tests.schedules import due_schedule, make_recipe

pytestmark = pytest.mark.django_db

LIST = reverse("dashboard-schedule-list")
ADD = reverse("dashboard-schedule-add")


def urls(pk: int) -> dict[str, list[str]]:
    reads = [LIST, reverse("dashboard-schedule-detail", args=[pk])]
    changes = [
        ADD,
        reverse("dashboard-schedule-edit", args=[pk]),
        reverse("dashboard-schedule-pause", args=[pk]),
        reverse("dashboard-schedule-delete", args=[pk]),
    ]
    return {"reads": reads, "changes": changes}


@pytest.fixture
def schedule(admin: User) -> Schedule:
    return due_schedule(admin, due=timezone.now() + timedelta(hours=1))


def form(recipe_pk: int, **extra: Any) -> dict[str, Any]:
    tomorrow = (timezone.now() + timedelta(days=1)).date()
    return {
        "name": "Weekly stand-up",
        "recipe": str(recipe_pk),
        "room_name": "stand-up",
        "repeat": "weekly",
        "on_date": tomorrow.isoformat(),
        "weekdays": ["0", "2"],
        "at_time": "09:30",
        "time_zone": "Europe/Paris",
        "wait_minutes": "15",
    } | extra


# --- who may open what ---------------------------------------------------------------------------
def test_it_sends_anonymous_visitors_to_the_login_page(client: Client, schedule: Schedule) -> None:
    for url in [*urls(schedule.pk)["reads"], *urls(schedule.pk)["changes"]]:
        response = client.post(url) if url.endswith("pause/") else client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_it_refuses_people_without_a_role(
    client: Client, outsider: User, schedule: Schedule
) -> None:
    client.force_login(outsider)
    for url in [*urls(schedule.pk)["reads"], *urls(schedule.pk)["changes"]]:
        assert client.get(url).status_code == 403


def test_it_lets_support_read_but_not_change(
    client: Client, support: User, schedule: Schedule
) -> None:
    client.force_login(support)
    for url in urls(schedule.pk)["reads"]:
        page = client.get(url)
        assert page.status_code == 200
        assert "Morning show" in page.content.decode()
        assert ADD not in page.content.decode()
    for url in urls(schedule.pk)["changes"]:
        assert client.post(url, {"paused": "yes"}).status_code == 403
    assert Schedule.objects.get().paused is False
    assert (
        not AuditEntry.objects.filter(target_type=AuditTarget.SCHEDULE)
        .exclude(action="created")
        .exists()
    )


@pytest.mark.parametrize("persona", ["producer", "admin"])
def test_it_lets_producers_and_admins_manage(
    client: Client, request: pytest.FixtureRequest, persona: str, schedule: Schedule
) -> None:
    client.force_login(request.getfixturevalue(persona))
    for url in [
        *urls(schedule.pk)["reads"],
        ADD,
        reverse("dashboard-schedule-edit", args=[schedule.pk]),
    ]:
        assert client.get(url).status_code == 200


# --- the pages -----------------------------------------------------------------------------------
def test_it_shows_an_empty_state(client: Client, producer: User) -> None:
    client.force_login(producer)
    page = client.get(LIST).content.decode()
    assert "No schedules yet." in page


def test_it_pins_the_list_query_count(
    client: Client, producer: User, schedule: Schedule, django_assert_max_num_queries: Any
) -> None:
    client.force_login(producer)
    with django_assert_max_num_queries(8):
        page = client.get(LIST).content.decode()
    assert "Next run:" in page
    assert "UTC" in page


def test_it_adds_a_weekly_schedule_in_the_zone_chosen_and_audits_it(
    client: Client, producer: User
) -> None:
    client.force_login(producer)
    response = client.post(ADD, form(make_recipe(producer).pk))
    schedule = Schedule.objects.get()
    assert response.status_code == 302
    assert (schedule.weekdays, schedule.time_zone, schedule.created_by) == (
        [0, 2],
        "Europe/Paris",
        producer,
    )
    assert schedule.next_run_at is not None
    assert schedule.next_run_at > timezone.now()
    page = client.get(reverse("dashboard-schedule-detail", args=[schedule.pk])).content.decode()
    assert "Weekly on Mon, Wed at 09:30 (Europe/Paris)" in page
    assert "09:30 CE" in page  # the next run on Paris's clock, CET or CEST
    entry = AuditEntry.objects.get(target_type=AuditTarget.SCHEDULE)
    assert (entry.action, entry.actor) == (AuditAction.CREATED, producer)


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ({"weekdays": []}, "weekdays", "Choose at least one day of the week."),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "Select a valid choice."),
        ({"at_time": "25:99"}, "at_time", "Enter a valid time."),
        ({"room_name": ""}, "room_name", "This field is required."),
        ({"repeat": "once", "on_date": "2020-01-01"}, "on_date", "That time has passed"),
        ({"wait_minutes": "-3"}, "wait_minutes", "greater than or equal to 0"),
    ],
)
def test_it_explains_bad_input_and_writes_nothing(
    client: Client, producer: User, extra: dict[str, Any], field: str, message: str
) -> None:
    client.force_login(producer)
    response = client.post(ADD, form(make_recipe(producer).pk, **extra))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Schedule.objects.exists()


def test_it_edits_a_schedule_and_audits_what_changed(
    client: Client, producer: User, schedule: Schedule
) -> None:
    client.force_login(producer)
    url = reverse("dashboard-schedule-edit", args=[schedule.pk])
    assert client.post(url, form(schedule.recipe_id, repeat="daily")).status_code == 302
    entry = AuditEntry.objects.get(target_type=AuditTarget.SCHEDULE, action=AuditAction.CHANGED)
    assert {"name", "room_name", "repeat", "time_zone"} <= set(entry.changed_fields)


def test_it_pauses_and_resumes_audited(client: Client, producer: User, schedule: Schedule) -> None:
    client.force_login(producer)
    url = reverse("dashboard-schedule-pause", args=[schedule.pk])
    client.post(url, {"paused": "yes"})
    schedule.refresh_from_db()
    assert schedule.paused
    assert schedule.next_run_at is None
    client.post(url, {"paused": "no"})
    actions = AuditEntry.objects.filter(target_type=AuditTarget.SCHEDULE).values_list(
        "action", flat=True
    )
    assert set(actions) >= {AuditAction.PAUSED, AuditAction.RESUMED}


def test_it_confirms_then_deletes(client: Client, producer: User, schedule: Schedule) -> None:
    client.force_login(producer)
    url = reverse("dashboard-schedule-delete", args=[schedule.pk])
    assert "Delete the schedule Morning show?" in client.get(url).content.decode()
    assert Schedule.objects.exists()
    assert client.post(url).status_code == 302
    assert not Schedule.objects.exists()
    assert AuditEntry.objects.filter(
        action=AuditAction.DELETED, target_type=AuditTarget.SCHEDULE
    ).exists()


def test_it_shows_a_failed_run_in_the_history(
    client: Client, support: User, schedule: Schedule
) -> None:
    ScheduleRun.objects.create(
        schedule=schedule,
        due_at=timezone.now(),
        state=RunState.NEVER_STARTED,
        message="Room never started: no room 'town-hall' by 09:15 CET (waited 15 min).",
    )
    client.force_login(support)
    page = client.get(reverse("dashboard-schedule-detail", args=[schedule.pk])).content.decode()
    assert "Room never started" in page
    assert 'class="schedule-run failed"' in page
    assert "Last: <span" in client.get(LIST).content.decode()
