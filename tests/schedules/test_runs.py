"""The worker's schedule pass against the sandbox over HTTP: a due schedule starts its recipe
once (two workers at once included), waits for a missing room and then reports "room never
started", and reports a run no worker took in time as missed without starting it."""

from __future__ import annotations

import io
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from egress_app.actions.schedules import run_failed, run_schedules
from egress_app.models import EgressJob, RunState, Schedule, ScheduleRun
from egress_app.sandbox.testing import RunningSandbox
from tests.schedules import due_schedule, minutes_ago

pytestmark = pytest.mark.django_db


@pytest.fixture
def failures() -> Any:
    """The runs `run_failed` reported (the alerts' hook)."""
    heard: list[ScheduleRun] = []

    def hear(sender: Any, run: ScheduleRun, **kwargs: Any) -> None:
        heard.append(run)

    run_failed.connect(hear)
    yield heard
    run_failed.disconnect(hear)


def test_it_starts_a_due_schedule_and_links_the_run_to_its_job(
    producer: User, sandbox: RunningSandbox
) -> None:
    schedule = due_schedule(producer)
    done = run_schedules()
    assert (done.due, done.started) == (1, 1)
    run = ScheduleRun.objects.get()
    assert run.state == RunState.STARTED
    assert run.job is not None
    assert run.job.started_by == producer
    [info] = sandbox.control.egresses()
    assert info.egress_id == run.job.egress_id
    assert info.room_name == "town-hall"
    schedule.refresh_from_db()
    assert schedule.next_run_at is None  # a one-off
    assert not run_schedules()  # nothing more to do


def test_it_moves_a_daily_schedule_on_to_the_next_day(
    producer: User, sandbox: RunningSandbox
) -> None:
    due = timezone.now().replace(microsecond=0)
    schedule = due_schedule(producer, due=due, repeat="daily", on_date=None)
    run_schedules()
    schedule.refresh_from_db()
    assert schedule.next_run_at == due + timedelta(days=1)


def test_it_waits_for_a_missing_room_then_reports_it_never_started(
    producer: User,
    sandbox: RunningSandbox,
    failures: list[ScheduleRun],
    django_capture_on_commit_callbacks: Any,
) -> None:
    due_schedule(producer, room="not-yet")
    run_schedules()
    run_schedules()
    run = ScheduleRun.objects.get()
    assert run.state == RunState.WAITING
    # The wait (15 min) has passed: the run's time, written back, stands for it.
    ScheduleRun.objects.filter(pk=run.pk).update(due_at=minutes_ago(16))
    with django_capture_on_commit_callbacks(execute=True):
        done = run_schedules()
    assert done.never_started == 1
    run.refresh_from_db()
    assert run.state == RunState.NEVER_STARTED
    assert run.message.startswith("Room never started: no room 'not-yet' by ")
    assert "(waited 15 min)" in run.message
    assert [heard.pk for heard in failures] == [run.pk]
    assert not sandbox.control.egresses()


def test_it_starts_a_waiting_run_once_its_room_starts(
    producer: User, sandbox: RunningSandbox
) -> None:
    due_schedule(producer, room="late-room")
    run_schedules()
    sandbox.control.add_room("late-room")
    assert run_schedules().started == 1
    assert ScheduleRun.objects.get().job.room_name == "late-room"


def test_it_reports_a_run_missed_while_no_worker_ran_and_never_starts_it(
    producer: User,
    sandbox: RunningSandbox,
    failures: list[ScheduleRun],
    django_capture_on_commit_callbacks: Any,
) -> None:
    due_schedule(producer, due=minutes_ago(10))  # past the 120 s grace
    with django_capture_on_commit_callbacks(execute=True):
        done = run_schedules()
    assert (done.missed, done.started) == (1, 0)
    run = ScheduleRun.objects.get()
    assert run.state == RunState.MISSED
    assert "it was not started late" in run.message
    assert [heard.state for heard in failures] == [RunState.MISSED]
    run_schedules()
    assert not sandbox.control.egresses()
    assert not EgressJob.objects.exists()


def test_it_fails_a_run_whose_recipe_was_deleted(producer: User, sandbox: RunningSandbox) -> None:
    schedule = due_schedule(producer)
    schedule.recipe.delete()
    assert run_schedules().failed == 1
    assert "recipe was deleted" in ScheduleRun.objects.get().message


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite's in-memory test database locks a table for concurrent writers",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_starts_a_due_schedule_once_with_two_workers(
    producer: User, sandbox: RunningSandbox
) -> None:
    """Two workers (threads, each with its own database connection) take the same due
    schedule at once: one run, one job, one egress. Run it on PostgreSQL (DATABASE_URL) for
    real concurrent conditional updates."""
    due_schedule(producer)
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(run_schedules())
        except Exception as error:  # reported below, not lost in the thread
            results.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r.due for r in results) == 1
    assert sum(r.started for r in results) == 1
    assert ScheduleRun.objects.count() == 1
    assert EgressJob.objects.count() == 1
    assert len(sandbox.control.egresses()) == 1
    assert Schedule.objects.get().next_run_at is None


def test_it_starts_schedules_from_the_worker_command(
    producer: User, sandbox: RunningSandbox
) -> None:
    due_schedule(producer)
    out = io.StringIO()
    call_command("egress_worker", "--once", stdout=out)
    assert "schedules: due 1, started 1, failed 0, never_started 0, missed 0" in out.getvalue()
    assert ScheduleRun.objects.get().state == RunState.STARTED
