"""The reconciler against the sandbox over HTTP, with no webhooks: LiveKit's view folded into
unfinished jobs, stuck and lost jobs flagged once, egress started elsewhere adopted, claims
that keep two workers off the same job, and the `egress_worker` command."""

from __future__ import annotations

import io
import json
import time
import uuid
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone
from livekit.protocol import egress
from pytest_django.fixtures import Settings

from egress_app import actions
from egress_app.actions.reconcile import claim_jobs, flag, reconcile
from egress_app.livekit import get_livekit_client, times
from egress_app.models import (
    EgressJob,
    EgressKind,
    EgressStatus,
    JobFlag,
    LaunchState,
    LedgerEntry,
    LedgerOutcome,
    LedgerSource,
)
from egress_app.sandbox.testing import RunningSandbox
from tests.jobs import (
    file_config,
    live,
    make_profile,
    start,
    stop_in_livekit,
    stored_text,
    stream_config,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def every_run_checks_every_job(settings: Settings) -> None:
    # A job checked a moment ago is not due again for half an interval: none in these tests.
    settings.EGRESS_WORKER_INTERVAL = 0.0


def polls(job: EgressJob) -> list[str]:
    rows = LedgerEntry.objects.filter(job=job, source=LedgerSource.POLL).order_by("pk")
    return [row.status for row in rows if row.outcome == LedgerOutcome.APPLIED]


def bare_job(egress_id: str, status: str = EgressStatus.ACTIVE) -> EgressJob:
    return EgressJob.objects.create(
        egress_id=egress_id,
        kind=EgressKind.ROOM_COMPOSITE,
        room_name="town-hall",
        launch_state=LaunchState.LAUNCHED,
        status=status,
    )


# --- LiveKit's view folded in -------------------------------------------------------------------
def test_it_follows_a_job_whose_webhooks_never_came(
    producer: User, admin: User, sandbox: RunningSandbox
) -> None:
    job = start(producer, file_config(make_profile(admin)))
    assert job.status == EgressStatus.STARTING
    assert job.egress_id

    sandbox.control.wait_for_status(job.egress_id, "ACTIVE")
    first = reconcile()
    job.refresh_from_db()
    assert job.status == EgressStatus.ACTIVE
    assert (first.claimed, first.applied, first.errors) == (1, 1, [])

    stop_in_livekit(job.egress_id)
    final = sandbox.control.wait_for_status(job.egress_id, "COMPLETE")
    second = reconcile()
    job.refresh_from_db()

    assert job.status == EgressStatus.COMPLETE
    assert job.ended_at is not None
    assert job.info_updated_ns == final.updated_at
    assert job.results["files"][0]["filename"] == "rec/town-hall.mp4"
    assert (second.claimed, second.applied, second.errors) == (1, 1, [])
    assert polls(job) == [EgressStatus.ACTIVE, EgressStatus.COMPLETE]
    assert EgressJob.objects.get(pk=job.pk).claim is None


def test_it_shows_livekits_final_state_of_an_egress_stopped_behind_its_back(
    producer: User, admin: User, sandbox: RunningSandbox
) -> None:
    job = live(sandbox, start(producer, file_config(make_profile(admin))))
    assert job.egress_id
    stop_in_livekit(job.egress_id)
    final = sandbox.control.wait_for_status(job.egress_id, "COMPLETE")

    reconcile()

    job.refresh_from_db()
    assert job.status == EgressStatus.COMPLETE
    assert job.ended_at is not None
    assert times.to_ns(job.ended_at) == times.truncated_ns(final.ended_at)
    [file] = job.results["files"]
    [result] = final.file_results
    assert (file["filename"], file["size"], file["location"]) == (
        result.filename,
        result.size,
        result.location,
    )
    assert file["size"] > 0
    assert job.details == final.details == "End reason: StopEgress API"
    assert job.flag == ""


def test_it_changes_nothing_when_nothing_changed(
    producer: User, admin: User, sandbox: RunningSandbox
) -> None:
    job = live(sandbox, start(producer, file_config(make_profile(admin))))
    before = LedgerEntry.objects.count()

    run = reconcile()

    assert (run.claimed, run.applied, run.flagged, run.adopted) == (1, 0, 0, 0)
    assert LedgerEntry.objects.count() == before  # an observation that changed nothing
    job.refresh_from_db()
    assert job.status == EgressStatus.ACTIVE


# --- LiveKit unreachable ------------------------------------------------------------------------
def test_it_leaves_jobs_alone_when_livekit_is_unreachable(
    producer: User, admin: User, sandbox: RunningSandbox, settings: Settings, closed_port_url: str
) -> None:
    job = start(producer, file_config(make_profile(admin)))
    assert job.egress_id
    sandbox.control.wait_for_status(job.egress_id, "ACTIVE")
    settings.LIVEKIT_URL = closed_port_url
    before = LedgerEntry.objects.count()

    run = reconcile()

    assert run.claimed == 1
    assert (run.applied, run.flagged, run.adopted, run.settled) == (0, 0, 0, 0)
    [error] = run.errors
    assert error.startswith(f"LiveKit is unreachable at {closed_port_url}")
    job.refresh_from_db()
    assert (job.status, job.flag) == (EgressStatus.STARTING, "")  # as it was
    assert (job.claim, job.claimed_until) == (None, None)  # released for the next run
    assert job.checked_at is not None
    assert LedgerEntry.objects.count() == before


# --- claims -------------------------------------------------------------------------------------
def test_it_does_not_claim_finished_jobs(db: None) -> None:
    for status in (
        EgressStatus.COMPLETE,
        EgressStatus.FAILED,
        EgressStatus.ABORTED,
        EgressStatus.LIMIT_REACHED,
    ):
        bare_job(f"EG_{status}", status)
    EgressJob.objects.create(kind=EgressKind.WEB, status="", launch_state=LaunchState.REFUSED)
    running = bare_job("EG_running")

    assert claim_jobs(uuid.uuid4()) == [running]


def test_it_never_lets_two_workers_claim_the_same_job(db: None, settings: Settings) -> None:
    settings.EGRESS_WORKER_BATCH = 3
    jobs = {bare_job(f"EG_claim_{n}").pk for n in range(5)}

    first_token, second_token = uuid.uuid4(), uuid.uuid4()
    first = {job.pk for job in claim_jobs(first_token)}
    second = {job.pk for job in claim_jobs(second_token)}

    assert len(first) == 3
    assert second == jobs - first
    assert claim_jobs(uuid.uuid4()) == []  # every job is held
    assert set(EgressJob.objects.filter(claim=first_token).values_list("pk", flat=True)) == first


def test_it_reclaims_a_job_whose_claim_expired(db: None) -> None:
    job = bare_job("EG_expired")
    first_token = uuid.uuid4()
    assert claim_jobs(first_token) == [job]
    assert claim_jobs(uuid.uuid4()) == []

    # The first worker died holding it: once its lease is over, another worker takes it.
    past = timezone.now() - timedelta(seconds=1)
    EgressJob.objects.filter(pk=job.pk).update(claimed_until=past)
    later_token = uuid.uuid4()

    assert claim_jobs(later_token) == [job]
    job.refresh_from_db()
    assert job.claim == later_token
    assert job.claimed_until is not None
    assert job.claimed_until > timezone.now()


# --- adopting egress started elsewhere ----------------------------------------------------------
def test_it_adopts_an_egress_started_outside_the_dashboard(
    db: None, sandbox: RunningSandbox
) -> None:
    request = egress.RoomCompositeEgressRequest(
        room_name="podcast",
        layout="speaker",
        file_outputs=[egress.EncodedFileOutput(filepath="elsewhere/{room_name}.mp4")],
    )
    info = async_to_sync(get_livekit_client().start_room_composite_egress)(request)

    run = reconcile()

    assert run.adopted == 1
    job = EgressJob.objects.get(egress_id=info.egress_id)
    assert job.external
    assert (job.kind, job.room_name, job.launch_state) == (
        EgressKind.ROOM_COMPOSITE,
        "podcast",
        LaunchState.LAUNCHED,
    )
    assert job.status in (EgressStatus.STARTING, EgressStatus.ACTIVE)
    assert job.results["files"][0]["filename"] == "elsewhere/podcast.mp4"
    [row] = LedgerEntry.objects.filter(egress_id=info.egress_id)
    assert (row.source, row.outcome, row.job) == (LedgerSource.POLL, LedgerOutcome.APPLIED, job)

    # Known from now on: the next run follows it like any job, and adopts nothing more.
    sandbox.control.wait_for_status(info.egress_id, "ACTIVE")
    again = reconcile()
    job.refresh_from_db()
    assert (again.adopted, job.status) == (0, EgressStatus.ACTIVE)
    assert EgressJob.objects.count() == 1


# --- flags --------------------------------------------------------------------------------------
def test_it_flags_a_job_stuck_in_starting_once_and_clears_the_flag_when_it_runs(
    producer: User, admin: User, sandbox: RunningSandbox, settings: Settings
) -> None:
    sandbox.control.set_pacing(starting=2.0)
    settings.EGRESS_STUCK_STARTING_AFTER = 0.0
    job = start(producer, file_config(make_profile(admin)))
    assert job.egress_id

    first, second = reconcile(), reconcile()

    job.refresh_from_db()
    assert (job.status, job.flag) == (EgressStatus.STARTING, JobFlag.STUCK_STARTING)
    assert job.flagged_at is not None
    assert (first.flagged, second.flagged) == (1, 0)
    [row] = LedgerEntry.objects.filter(outcome=LedgerOutcome.FLAGGED)
    assert (row.job, row.event, row.status) == (job, "job_stuck_starting", EgressStatus.STARTING)
    assert row.reason == JobFlag.STUCK_STARTING.explanation

    sandbox.control.wait_for_status(job.egress_id, "ACTIVE")
    third = reconcile()

    job.refresh_from_db()
    assert (job.status, job.flag, job.flagged_at) == (EgressStatus.ACTIVE, "", None)
    assert third.flagged == 0
    assert LedgerEntry.objects.filter(outcome=LedgerOutcome.FLAGGED).count() == 1


def test_it_does_not_flag_a_job_starting_for_less_than_the_threshold(
    producer: User, admin: User, sandbox: RunningSandbox, settings: Settings
) -> None:
    sandbox.control.set_pacing(starting=2.0)
    settings.EGRESS_STUCK_STARTING_AFTER = 120.0
    job = start(producer, file_config(make_profile(admin)))

    run = reconcile()

    job.refresh_from_db()
    assert (run.flagged, job.status, job.flag) == (0, EgressStatus.STARTING, "")


@pytest.mark.parametrize("silent_after", [0.0, 3600.0])
def test_it_leaves_a_running_job_alone_within_the_silence_allowed(
    producer: User, admin: User, sandbox: RunningSandbox, settings: Settings, silent_after: float
) -> None:
    settings.EGRESS_SILENT_AFTER = silent_after  # 0: never flagged
    job = live(sandbox, start(producer, file_config(make_profile(admin))))
    time.sleep(0.3)

    run = reconcile()

    job.refresh_from_db()
    assert (run.flagged, job.status, job.flag) == (0, EgressStatus.ACTIVE, "")


def test_it_flags_a_running_job_with_no_news_and_clears_it_on_the_next(
    producer: User, admin: User, sandbox: RunningSandbox, settings: Settings
) -> None:
    settings.EGRESS_SILENT_AFTER = 0.2
    job = live(sandbox, start(producer, file_config(make_profile(admin))))
    time.sleep(0.3)  # LiveKit reports nothing new meanwhile

    first, second = reconcile(), reconcile()

    job.refresh_from_db()
    assert (job.status, job.flag) == (EgressStatus.ACTIVE, JobFlag.SILENT)
    assert (first.flagged, second.flagged) == (1, 0)
    assert job.cause == JobFlag.SILENT
    [row] = LedgerEntry.objects.filter(outcome=LedgerOutcome.FLAGGED)
    assert (row.event, row.reason) == ("job_silent", JobFlag.SILENT.explanation)

    actions.stop_egress(producer, job)  # LiveKit answers with news: ENDING

    job.refresh_from_db()
    assert (job.flag, job.flagged_at, job.cause) == ("", None, "")
    assert job.status in (EgressStatus.ENDING, EgressStatus.COMPLETE)


def test_it_flags_a_job_livekit_no_longer_knows_as_lost(db: None, sandbox: RunningSandbox) -> None:
    job = bare_job("EG_neverheardof")

    first, second = reconcile(), reconcile()

    job.refresh_from_db()
    assert (job.status, job.flag) == (EgressStatus.ACTIVE, JobFlag.LOST)
    assert (first.flagged, second.flagged) == (1, 0)
    assert first.errors == second.errors == []
    [row] = LedgerEntry.objects.filter(outcome=LedgerOutcome.FLAGGED)
    assert (row.job, row.event, row.reason) == (job, "job_lost", JobFlag.LOST.explanation)


def test_it_flags_a_running_job_lost_when_livekit_restarted(
    producer: User, admin: User, sandbox: RunningSandbox
) -> None:
    job = live(sandbox, start(producer, file_config(make_profile(admin))))
    sandbox.control.reset(fixture="demo")  # LiveKit forgot every egress

    run = reconcile()

    job.refresh_from_db()
    assert (run.flagged, run.errors) == (1, [])
    assert (job.status, job.flag) == (EgressStatus.ACTIVE, JobFlag.LOST)


def lose(job: EgressJob) -> EgressJob:
    """Flag `job` LOST as a check does when LiveKit's list misses its egress (after a LiveKit
    restart, livekit#1717)."""
    assert flag(job, known=False) == 1
    job.refresh_from_db()
    assert (job.flag, job.cause) == (JobFlag.LOST, JobFlag.LOST)
    return job


def test_it_clears_the_lost_flag_when_livekit_knows_the_egress_again(
    producer: User, admin: User, sandbox: RunningSandbox
) -> None:
    job = lose(live(sandbox, start(producer, file_config(make_profile(admin)))))
    assert job.egress_id
    stop_in_livekit(job.egress_id)
    sandbox.control.wait_for_status(job.egress_id, "COMPLETE")

    reconcile()

    job.refresh_from_db()
    assert (job.status, job.flag, job.flagged_at, job.cause) == (
        EgressStatus.COMPLETE,
        "",
        None,
        "",
    )


def test_it_clears_the_lost_flag_when_livekit_lists_the_egress_again_unchanged(
    producer: User, admin: User, sandbox: RunningSandbox
) -> None:
    job = lose(live(sandbox, start(producer, file_config(make_profile(admin)))))

    run = reconcile()  # LiveKit lists it, running as before: nothing new to apply

    job.refresh_from_db()
    assert (run.applied, run.flagged) == (0, 0)
    assert (job.status, job.flag, job.flagged_at, job.cause) == (EgressStatus.ACTIVE, "", None, "")
    assert LedgerEntry.objects.filter(outcome=LedgerOutcome.FLAGGED).count() == 1


# --- launches LiveKit never answered ------------------------------------------------------------
def unknown_launch(producer: User, admin: User) -> tuple[EgressJob, str]:
    """A job started for real, then left as `_unknown` leaves a Start that timed out with
    nothing found for it (yet); and the id of the egress LiveKit did start."""
    job = start(producer, file_config(make_profile(admin)))
    egress_id = job.egress_id
    assert egress_id
    EgressJob.objects.filter(pk=job.pk).update(
        egress_id=None, launch_state=LaunchState.UNKNOWN, status="", info={}, updated_at=None
    )
    LedgerEntry.objects.all().delete()
    return job, egress_id


def test_it_adopts_the_egress_of_an_unknown_launch(
    producer: User, admin: User, sandbox: RunningSandbox
) -> None:
    job, egress_id = unknown_launch(producer, admin)

    run = reconcile()

    job.refresh_from_db()
    assert (job.launch_state, job.egress_id) == (LaunchState.LAUNCHED, egress_id)
    assert job.status in (EgressStatus.STARTING, EgressStatus.ACTIVE)
    assert (run.applied, run.adopted) == (1, 0)
    assert EgressJob.objects.count() == 1  # not also an external job


def test_it_takes_back_an_unknown_launchs_egress_recorded_as_external_meanwhile(
    producer: User, admin: User, sandbox: RunningSandbox
) -> None:
    job, egress_id = unknown_launch(producer, admin)
    # Its webhooks came while the launch was unknown: they made an external job of the egress.
    external = actions.observe(sandbox.control.egress(egress_id)).job
    assert external is not None
    assert external.external

    reconcile()

    job.refresh_from_db()
    assert (job.launch_state, job.egress_id, job.external) == (
        LaunchState.LAUNCHED,
        egress_id,
        False,
    )
    assert list(EgressJob.objects.values_list("pk", flat=True)) == [job.pk]
    assert set(LedgerEntry.objects.values_list("job", flat=True)) == {job.pk}


def test_it_keeps_no_passphrase_taking_back_a_failed_stream_from_an_external_job(
    producer: User, admin: User, sandbox: RunningSandbox
) -> None:
    passphrase = "SECRET-reconciler-srt-pass-XYZ123"
    destination = actions.create_stream_destination(
        admin,
        name="Fails",
        server_url=f"srt://fail.example.com:9000?passphrase={passphrase}",
        stream_key="",
    )
    job = start(producer, stream_config(destination))
    egress_id = job.egress_id
    assert egress_id
    EgressJob.objects.filter(pk=job.pk).update(
        egress_id=None, launch_state=LaunchState.UNKNOWN, status="", info={}, updated_at=None
    )
    LedgerEntry.objects.all().delete()
    # LiveKit fails it quoting the URL it dialled; the webhook makes an external job of it,
    # which hides the URL because LiveKit's info quotes it whole too.
    failed = sandbox.control.wait_for_status(egress_id, "FAILED")
    assert passphrase in failed.error
    actions.observe(failed)

    reconcile()

    job.refresh_from_db()
    assert (job.egress_id, job.status) == (egress_id, EgressStatus.FAILED)
    assert "srt://fail.example.com" in job.error
    assert passphrase not in stored_text(job)
    payloads = json.dumps(list(LedgerEntry.objects.values_list("payload", flat=True)))
    assert egress_id in payloads
    assert passphrase not in payloads


def test_it_leaves_an_unknown_launch_unknown_when_no_egress_turns_up(
    producer: User, admin: User, sandbox: RunningSandbox
) -> None:
    job = start(producer, file_config(make_profile(admin)))
    assert job.egress_id
    stop_in_livekit(job.egress_id)
    sandbox.control.reset(fixture="demo")  # LiveKit forgot every egress
    EgressJob.objects.filter(pk=job.pk).update(
        egress_id=None, launch_state=LaunchState.UNKNOWN, status=""
    )

    run = reconcile()

    job.refresh_from_db()
    assert (job.launch_state, job.egress_id, job.status) == (LaunchState.UNKNOWN, None, "")
    assert (run.claimed, run.applied, run.errors) == (1, 0, [])


# --- the worker command -------------------------------------------------------------------------
def test_it_runs_the_worker_once_and_prints_its_counts(
    producer: User, admin: User, sandbox: RunningSandbox
) -> None:
    job = start(producer, file_config(make_profile(admin)))
    assert job.egress_id
    sandbox.control.wait_for_status(job.egress_id, "ACTIVE")
    out = io.StringIO()

    call_command("egress_worker", "--once", stdout=out)

    assert (
        out.getvalue()
        == "claimed 1, applied 1, flagged 0, adopted 0, settled 0, tapped 0, ruled 0, stopped 0\n"
    )
    job.refresh_from_db()
    assert job.status == EgressStatus.ACTIVE


def test_it_prints_its_counts_with_nothing_to_do(db: None, sandbox: RunningSandbox) -> None:
    out = io.StringIO()

    call_command("egress_worker", "--once", stdout=out)

    assert (
        out.getvalue()
        == "claimed 0, applied 0, flagged 0, adopted 0, settled 0, tapped 0, ruled 0, stopped 0\n"
    )
