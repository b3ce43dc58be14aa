"""A launch's maximum duration (`stop_after`): read from the form and recipes, checked with
clear messages, and kept by the reconciler with a real StopEgress to the sandbox, audited as
stopped by the limit; the job page and the Live page's card count it down."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from egress_app.actions.recipes import save_recipe
from egress_app.actions.reconcile import reconcile
from egress_app.launch.stop_after import OUT_OF_RANGE, parse
from egress_app.launch.validation import validate_launch_config
from egress_app.models import AuditAction, AuditEntry, AuditTarget, EgressJob, EgressStatus
from egress_app.sandbox.testing import RunningSandbox
from tests.jobs import file_config, live, make_profile, new_token, start

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def every_run_checks_every_job(settings: Any) -> None:
    settings.EGRESS_WORKER_INTERVAL = 0.0


@pytest.mark.parametrize(
    ("typed", "seconds"),
    [("1:30:00", 5400), ("45:00", 2700), ("90m", 5400), ("2h", 7200), ("1h 30m", 5400)],
)
def test_it_reads_a_length_as_people_type_it(typed: str, seconds: int) -> None:
    assert parse(typed) == seconds


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("soon", "Enter a length such as"),
        ("90", "Enter a length such as"),
        ("30s", OUT_OF_RANGE),
        ("-1000000000 days", OUT_OF_RANGE),  # more days than a timedelta holds: was a 500
        ("99999999999999999h", OUT_OF_RANGE),
    ],
)
def test_it_explains_a_length_it_cannot_take(admin: User, typed: str, message: str) -> None:
    config = file_config(make_profile(admin)) | {"stop_after": typed}
    assert validate_launch_config(config)["stop_after"].startswith(message)


def test_it_shows_a_bad_stop_after_on_the_launch_form(client: Any, producer: User) -> None:
    client.force_login(producer)
    data = {"kind": "web", "stop_after": "soon", "launch_token": new_token()}
    response = client.post(reverse("dashboard-launch"), data)
    assert response.status_code == 200
    assert "Enter a length such as 1:30:00" in response.content.decode()
    assert not EgressJob.objects.exists()


def past_its_limit(producer: User, admin: User, sandbox: RunningSandbox) -> EgressJob:
    job = live(sandbox, start(producer, file_config(make_profile(admin)) | {"stop_after": "1m"}))
    assert job.config["stop_after"] == 60
    # The form's floor is a minute: a second, written on the job, stands for a minute passed.
    EgressJob.objects.filter(pk=job.pk).update(config=job.config | {"stop_after": 1})
    time.sleep(1.1)
    return job


def test_it_stops_a_job_at_its_limit_with_stop_egress(
    producer: User, admin: User, sandbox: RunningSandbox
) -> None:
    job = past_its_limit(producer, admin, sandbox)
    run = reconcile()
    assert run.stopped == 1
    assert sandbox.control.egress(job.egress_id).status != EgressStatus.ACTIVE.value
    entry = AuditEntry.objects.get(target_type=AuditTarget.JOB, action=AuditAction.STOPPED)
    assert entry.actor is None
    assert entry.outcome == "Stopped after 0:00:01, the limit set at launch"
    assert reconcile().stopped == 0  # once


def test_it_leaves_a_job_inside_its_limit_running(
    producer: User, admin: User, sandbox: RunningSandbox
) -> None:
    job = live(sandbox, start(producer, file_config(make_profile(admin)) | {"stop_after": "2h"}))
    assert reconcile().stopped == 0
    job.refresh_from_db()
    assert job.status == EgressStatus.ACTIVE


def test_it_counts_the_limit_down_on_the_job_page_and_the_card(
    client: Any, producer: User, admin: User, sandbox: RunningSandbox
) -> None:
    job = live(sandbox, start(producer, file_config(make_profile(admin)) | {"stop_after": "2h"}))
    client.force_login(producer)
    page = client.get(reverse("dashboard-job-detail", args=[job.pk])).content.decode()
    assert 'data-ticks="down"' in page
    assert "the dashboard stops it after 2:00:00, the limit set at launch" in page
    # The time left, right with JavaScript off (the job has run for a second or two).
    assert re.search(r'data-ticks="down" data-seconds="7\d\d\d">(2:00:00|1:59:5\d)<', page)
    card = client.get(reverse("dashboard-home-live")).content.decode()
    assert "(stops after 2:00:00)" in card


def test_it_keeps_stop_after_in_a_recipe_and_shows_it(client: Any, producer: User) -> None:
    config = file_config(make_profile(producer)) | {"stop_after": "90m"}
    recipe = save_recipe(producer, name="Capped", config=config)
    assert recipe.config["stop_after"] == 5400
    client.force_login(producer)
    assert "stops after 1:30:00" in client.get(reverse("dashboard-recipe-list")).content.decode()
    form = client.get(reverse("dashboard-launch") + f"?recipe={recipe.pk}").content.decode()
    assert 'value="1:30:00"' in form
