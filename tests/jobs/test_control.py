"""Stopping a job and changing its layout and streams while it runs, against the sandbox."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from pytest_django.fixtures import Settings

from egress_app import actions
from egress_app.actions.egress import NOT_BY_OWNER, NOT_YOURS
from egress_app.models import (
    AuditAction,
    AuditEntry,
    AuditTarget,
    EgressJob,
    EgressStatus,
    JobFlag,
    LedgerOutcome,
    LedgerSource,
)
from egress_app.roles import PRODUCERS
from egress_app.sandbox.testing import RunningSandbox
from tests.conftest import make_user
from tests.jobs import (
    ADHOC,
    ADHOC_KEY,
    BUCKET,
    OTHER_KEY,
    SECRETS,
    assert_no_secrets,
    ended,
    file_config,
    live,
    make_destination,
    make_profile,
    new_token,
    start,
    stop_in_livekit,
    stopped,
    stream_config,
)

pytestmark = pytest.mark.django_db

SHOWN_ADHOC = "rtmp://live.example.com/app/{SEC...123}"


def refused(action, *args, **kwargs) -> actions.JobError:
    with pytest.raises(actions.JobError) as caught:
        action(*args, **kwargs)
    return caught.value


def streams(sandbox: RunningSandbox, job: EgressJob) -> list[tuple[str, str]]:
    """LiveKit's stream results: (redacted URL, status)."""
    assert job.egress_id
    info = sandbox.control.egress(job.egress_id)
    return [(stream.url, stream.Status.Name(stream.status)) for stream in info.stream_results]


# --- stop ---------------------------------------------------------------------------------------
def test_it_stops_a_job_which_then_completes_with_its_file(producer, admin, sandbox):
    job = live(sandbox, start(producer, file_config(make_profile(admin))))

    job = actions.stop_egress(producer, job)

    assert (job.status, job.details) == (EgressStatus.ENDING, "End reason: StopEgress API")
    assert job.is_active
    assert not job.can_stop
    job = ended(sandbox, job)
    assert job.status == EgressStatus.COMPLETE
    assert job.ended_at is not None
    assert job.ended_at >= job.started_at
    [file] = job.results["files"]
    assert file["size"] > 0
    assert file["duration"] > 0
    assert file["location"] == f"https://{BUCKET}.s3.eu-west-1.amazonaws.com/rec/town-hall.mp4"
    assert_no_secrets(job)


def test_livekits_answer_clears_a_flag_it_answers_and_is_in_the_ledger(producer, admin, sandbox):
    job = live(sandbox, start(producer, file_config(make_profile(admin))))
    EgressJob.objects.filter(pk=job.pk).update(flag=JobFlag.LOST)

    job = actions.stop_egress(producer, job)

    assert (job.status, job.flag) == (EgressStatus.ENDING, "")  # LiveKit knows it after all
    answer = job.ledger.filter(source=LedgerSource.API).latest("pk")
    assert (answer.status, answer.outcome) == (EgressStatus.ENDING, LedgerOutcome.APPLIED)


def test_it_aborts_a_job_stopped_before_it_is_active(producer, admin, sandbox: RunningSandbox):
    sandbox.control.set_pacing(starting=5)
    job = start(producer, file_config(make_profile(admin)))

    job = actions.stop_egress(producer, job)

    assert (job.status, job.error_code) == (EgressStatus.ABORTED, 412)
    assert job.error == "Stop called before pipeline could start"


def test_it_refuses_to_stop_a_finished_job_without_asking_livekit(
    producer, admin, sandbox, settings: Settings, closed_port_url: str
):
    job = live(sandbox, start(producer, file_config(make_profile(admin))))
    job = ended(sandbox, actions.stop_egress(producer, job))
    settings.LIVEKIT_URL = closed_port_url  # any call would now fail and be kept on the job

    error = refused(actions.stop_egress, producer, job)

    assert error.message == "This job has already ended (complete): it cannot be stopped."
    job.refresh_from_db()
    assert (job.status, job.error) == (EgressStatus.COMPLETE, "")


def test_it_refuses_to_stop_a_job_livekit_never_started(producer, sandbox: RunningSandbox):
    sandbox.control.add_room("no-workers-studio")
    with pytest.raises(actions.LaunchError) as caught:
        start(producer, stream_config(make_destination(producer), room="no-workers-studio"))

    error = refused(actions.stop_egress, producer, caught.value.job)

    assert error.message == (
        "This job has no egress in LiveKit (refused by livekit): it cannot be stopped."
    )


def test_it_shows_the_final_state_when_livekit_says_the_egress_has_ended(
    producer, admin, sandbox: RunningSandbox
):
    job = live(sandbox, start(producer, file_config(make_profile(admin))))
    assert job.egress_id
    stop_in_livekit(job.egress_id)
    sandbox.control.wait_for_status(job.egress_id, "COMPLETE")

    error = refused(actions.stop_egress, producer, job)

    assert error.message == (
        "LiveKit says the egress has already ended (complete): it cannot be stopped. The job "
        "now shows its final state."
    )
    assert (error.job.status, error.job.error) == (EgressStatus.COMPLETE, "")
    assert error.job.results["files"][0]["size"] > 0


def test_it_keeps_a_failed_stop_on_the_job_with_its_real_status(
    producer, admin, sandbox, settings: Settings, closed_port_url: str
):
    job = live(sandbox, start(producer, file_config(make_profile(admin))))
    url = settings.LIVEKIT_URL
    settings.LIVEKIT_URL = closed_port_url

    error = refused(actions.stop_egress, producer, job)

    job.refresh_from_db()
    assert job.status == EgressStatus.ACTIVE
    assert error.message == job.error
    assert job.error.startswith("LiveKit is unreachable")
    assert job.details.startswith("Twirp unavailable: ")
    settings.LIVEKIT_URL = url
    job = actions.stop_egress(producer, job)
    assert (job.status, job.error, job.error_code) == (EgressStatus.ENDING, "", None)


# --- layout -------------------------------------------------------------------------------------
def test_it_changes_the_layout_of_a_room_composite(producer, admin, sandbox: RunningSandbox):
    job = live(sandbox, start(producer, file_config(make_profile(admin))))

    job = actions.update_layout(producer, job, " speaker ")

    assert job.config["room_composite"]["layout"] == "speaker"
    assert job.egress_id
    assert sandbox.control.egress(job.egress_id).room_composite.layout == "speaker"


def test_it_changes_the_layout_of_a_v2_template(producer, admin, sandbox: RunningSandbox):
    config = file_config(make_profile(admin)) | {"api": "v2"}
    job = live(sandbox, start(producer, config))
    assert job.can_update_layout

    job = actions.update_layout(producer, job, "single-speaker")

    assert job.egress_id
    assert sandbox.control.egress(job.egress_id).egress.template.layout == "single-speaker"


def test_it_refuses_a_layout_for_a_participant_egress(producer, admin, sandbox):
    config = file_config(make_profile(admin)) | {
        "kind": "participant",
        "participant": {"identity": "alice"},
    }
    job = live(sandbox, start(producer, config))

    error = refused(actions.update_layout, producer, job, "speaker")

    assert error.message == "Only a room composite (a layout template) has a layout to change."


def test_it_refuses_an_empty_layout(producer, admin, sandbox):
    job = live(sandbox, start(producer, file_config(make_profile(admin))))

    with pytest.raises(ValidationError) as caught:
        actions.update_layout(producer, job, "  ")

    assert "layout" in caught.value.message_dict


# --- streams ------------------------------------------------------------------------------------
def test_it_adds_and_removes_streams_by_their_original_urls(producer, admin, sandbox):
    youtube = make_destination(admin)
    backup = make_destination(admin, "Backup", OTHER_KEY)
    job = live(sandbox, start(producer, stream_config(youtube)))
    assert job.can_update_stream

    job = actions.add_stream_outputs(producer, job, destination_ids=[backup.pk], adhoc_urls=[ADHOC])

    assert set(job.destinations.all()) == {youtube, backup}
    assert job.adhoc_outputs == [SHOWN_ADHOC]
    assert streams(sandbox, job) == [
        ("rtmp://a.rtmp.youtube.com/live2/{SEC...123}", "ACTIVE"),
        ("rtmp://a.rtmp.youtube.com/live2/{SEC...123}", "ACTIVE"),
        (SHOWN_ADHOC, "ACTIVE"),
    ]
    assert len(job.results["streams"]) == 3

    job = actions.remove_stream_output(producer, job, output="adhoc:0")
    job = actions.remove_stream_output(producer, job, output=f"destination:{backup.pk}")

    assert list(job.destinations.all()) == [youtube]
    assert job.adhoc_outputs == [None]
    assert job.stream_output_url("adhoc:0") is None
    assert job.stream_outputs() == [(f"destination:{youtube.pk}", "YouTube")]
    statuses = [stream["status"] for stream in job.results["streams"]]
    assert statuses == ["ACTIVE", "FINISHED", "FINISHED"]
    assert job.status == EgressStatus.ACTIVE
    assert_no_secrets(job)


def test_it_removes_a_destination_by_the_url_it_dialled_after_an_edit(producer, admin, sandbox):
    youtube, backup = make_destination(admin), make_destination(admin, "Backup", OTHER_KEY)
    job = live(sandbox, start(producer, stream_config(youtube, backup)))
    actions.update_stream_destination(
        admin, backup, name="Backup", server_url="", stream_key="SECRET-a-new-key-XYZ123"
    )

    job = actions.remove_stream_output(producer, job, output=f"destination:{backup.pk}")

    assert list(job.destinations.all()) == [youtube]
    assert [status for _, status in streams(sandbox, job)] == ["ACTIVE", "FINISHED"]


def test_it_ends_the_egress_when_its_last_stream_goes(producer, admin, sandbox):
    youtube = make_destination(admin)
    job = live(sandbox, start(producer, stream_config(youtube)))

    job = actions.remove_stream_output(producer, job, output=f"destination:{youtube.pk}")

    assert (job.status, job.details) == (EgressStatus.ENDING, "End reason: All streams stopped")
    assert ended(sandbox, job).status == EgressStatus.COMPLETE


def test_it_keeps_livekits_refusal_of_a_removal_without_the_key(producer, admin, sandbox):
    failing = "rtmp://fail.example.com/app/SECRET-jobs-other-key-XYZ123"
    job = live(sandbox, start(producer, stream_config(make_destination(admin)), adhoc_urls=[]))
    job = actions.add_stream_outputs(producer, job, adhoc_urls=[failing])
    assert streams(sandbox, job)[1][1] == "FAILED"  # LiveKit could not dial it

    error = refused(actions.remove_stream_output, producer, job, output="adhoc:0")

    job.refresh_from_db()
    assert job.status == EgressStatus.ACTIVE
    assert error.message == job.error
    assert job.error_code == 404
    assert (
        job.details == "Twirp not_found: stream rtmp://fail.example.com/app/{SEC...123} not found"
    )
    assert job.adhoc_outputs == [None]  # LiveKit does not stream there: the output is gone
    assert_no_secrets(job)


def test_it_refuses_outputs_the_job_does_not_have(producer, admin, sandbox):
    youtube, backup = make_destination(admin), make_destination(admin, "Backup", OTHER_KEY)
    job = live(sandbox, start(producer, stream_config(youtube)))

    for output in ("adhoc:0", f"destination:{backup.pk}", "destination:x", "youtube"):
        with pytest.raises(ValidationError) as caught:
            actions.remove_stream_output(producer, job, output=output)
        assert "output" in caught.value.message_dict


def test_it_refuses_stream_additions_livekit_would_refuse(producer, admin, sandbox):
    youtube = make_destination(admin)
    job = live(sandbox, start(producer, stream_config(youtube)))
    cases = {
        "destination_ids": {"destination_ids": [youtube.pk]},
        "adhoc_urls": {"adhoc_urls": ["rtmp://live.example.com/no-key"]},
        NON_FIELD_ERRORS: {"adhoc_urls": ["srt://srt.example.com:9000"]},
    }

    for field, kwargs in cases.items():
        with pytest.raises(ValidationError) as caught:
            actions.add_stream_outputs(producer, job, **kwargs)
        assert field in caught.value.message_dict
    assert len(streams(sandbox, job)) == 1


def test_it_refuses_to_change_streams_of_a_job_without_one(producer, admin, sandbox):
    job = live(sandbox, start(producer, file_config(make_profile(admin))))

    error = refused(actions.add_stream_outputs, producer, job, adhoc_urls=[ADHOC])

    assert error.message == "This job has no stream output to change."


# --- who controls a running job -----------------------------------------------------------------
def control_each_way(actor, job: EgressJob, destination_id: int) -> list[tuple[str, object]]:
    """What each control does for `actor`: ("refused", message) or ("done", None)."""
    attempts = {
        "layout": lambda: actions.update_layout(actor, job, "speaker"),
        "add": lambda: actions.add_stream_outputs(actor, job, adhoc_urls=[ADHOC]),
        "remove": lambda: actions.remove_stream_output(
            actor, job, output=f"destination:{destination_id}"
        ),
        "stop": lambda: actions.stop_egress(actor, job),
    }
    answers: list[tuple[str, object]] = []
    for attempt in attempts.values():
        try:
            attempt()
        except PermissionDenied as refusal:
            answers.append(("refused", str(refusal)))
        else:
            answers.append(("done", None))
    return answers


@pytest.mark.parametrize("persona", ["other", "support", "outsider", "anonymous"])
def test_it_refuses_control_to_anyone_but_the_owner_and_admins(
    request, producer, admin, sandbox: RunningSandbox, persona
):
    youtube = make_destination(admin)
    job = live(sandbox, start(producer, stream_config(youtube)))
    actor = {
        "other": lambda: make_user("pia-producer", PRODUCERS),
        "support": lambda: request.getfixturevalue("support"),
        "outsider": lambda: request.getfixturevalue("outsider"),
        "anonymous": AnonymousUser,
    }[persona]()
    entries = AuditEntry.objects.count()

    answers = control_each_way(actor, job, youtube.pk)

    assert answers == [("refused", NOT_YOURS)] * 4
    assert job.egress_id
    info = sandbox.control.egress(job.egress_id)
    assert (info.status, info.room_composite.layout, len(info.stream_results)) == (1, "grid", 1)
    assert AuditEntry.objects.count() == entries  # nothing done, nothing recorded


def test_it_lets_an_admin_control_a_producers_job(producer, admin, sandbox: RunningSandbox):
    youtube = make_destination(admin)
    job = live(sandbox, start(producer, stream_config(youtube)))

    answers = control_each_way(admin, job, youtube.pk)

    assert answers == [("done", None)] * 4


def test_it_lets_producers_control_each_others_jobs_when_shared(
    producer, admin, sandbox: RunningSandbox, settings: Settings
):
    settings.EGRESS_PRODUCERS_SHARE_CONTROL = True
    youtube = make_destination(admin)
    job = live(sandbox, start(producer, stream_config(youtube)))

    answers = control_each_way(make_user("pia-producer", PRODUCERS), job, youtube.pk)

    assert answers == [("done", None)] * 4


def test_support_stops_the_retry_it_started(producer, support, admin, sandbox: RunningSandbox):
    profile = make_profile(admin)
    job = stopped(sandbox, producer, start(producer, file_config(profile)))
    retry = live(sandbox, actions.retry_egress(support, job, launch_token=new_token()))

    retry = actions.stop_egress(support, retry)

    assert retry.status == EgressStatus.ENDING
    with pytest.raises(PermissionDenied):  # yet not the producer's own jobs
        actions.stop_egress(
            support, live(sandbox, start(producer, file_config(job.storage_profile)))
        )


# --- the audit trail ----------------------------------------------------------------------------
def trail(job: EgressJob) -> list[tuple[str, str, str]]:
    """The job's audit entries, oldest first: (who, action, outcome)."""
    entries = AuditEntry.objects.filter(target_type=AuditTarget.JOB, target_id=job.pk)
    return list(entries.order_by("at", "pk").values_list("actor_name", "action", "outcome"))


def test_it_records_who_started_stopped_and_changed_a_job(producer, admin, sandbox):
    youtube, backup = make_destination(admin), make_destination(admin, "Backup", OTHER_KEY)
    job = live(sandbox, start(producer, stream_config(youtube)))

    job = actions.update_layout(producer, job, "speaker")
    job = actions.add_stream_outputs(producer, job, destination_ids=[backup.pk], adhoc_urls=[ADHOC])
    job = actions.remove_stream_output(producer, job, output="adhoc:0")
    job = actions.remove_stream_output(producer, job, output=f"destination:{backup.pk}")
    job = actions.stop_egress(producer, job)

    assert trail(job) == [
        ("pat-producer", AuditAction.STARTED, ""),
        ("pat-producer", AuditAction.LAYOUT_CHANGED, "grid → speaker"),
        ("pat-producer", AuditAction.STREAMS_ADDED, f"Backup, {SHOWN_ADHOC}"),
        ("pat-producer", AuditAction.STREAM_REMOVED, SHOWN_ADHOC),
        ("pat-producer", AuditAction.STREAM_REMOVED, "Backup"),
        ("pat-producer", AuditAction.STOPPED, ""),
    ]
    assert set(
        AuditEntry.objects.filter(target_type=AuditTarget.JOB).values_list(
            "target_id", "target_name"
        )
    ) == {(job.pk, f"job {job.pk}"), (job.pk, f"job {job.pk} ({job.egress_id})")}
    assert_no_secrets_in_the_audit_log()


def assert_no_secrets_in_the_audit_log() -> None:
    text = json.dumps(list(AuditEntry.objects.values()), default=str)
    for secret in SECRETS:
        assert secret not in text


def test_it_marks_streams_added_by_someone_other_than_the_owner(producer, admin, sandbox):
    job = live(sandbox, start(producer, stream_config(make_destination(admin))))

    actions.add_stream_outputs(admin, job, adhoc_urls=[ADHOC])

    [(who, action, outcome)] = trail(job)[1:]
    assert (who, action) == ("ada-admin", AuditAction.STREAMS_ADDED)
    assert outcome == f"{SHOWN_ADHOC} · {NOT_BY_OWNER} (pat-producer)"
    assert ADHOC_KEY not in outcome


def test_it_records_nothing_when_livekit_refuses(
    producer, admin, sandbox, settings: Settings, closed_port_url: str
):
    job = live(sandbox, start(producer, file_config(make_profile(admin))))
    settings.LIVEKIT_URL = closed_port_url

    refused(actions.stop_egress, producer, job)
    refused(actions.update_layout, producer, job, "speaker")

    assert [action for _, action, _ in trail(job)] == [AuditAction.STARTED]


def test_it_records_an_output_livekit_no_longer_streamed_to(producer, admin, sandbox):
    failing = "rtmp://fail.example.com/app/SECRET-jobs-other-key-XYZ123"
    job = live(sandbox, start(producer, stream_config(make_destination(admin))))
    job = actions.add_stream_outputs(producer, job, adhoc_urls=[failing])

    refused(actions.remove_stream_output, producer, job, output="adhoc:0")

    assert trail(job)[-1] == (
        "pat-producer",
        AuditAction.STREAM_REMOVED,
        "rtmp://fail.example.com/app/{SEC...123} (LiveKit no longer streamed there)",
    )
    assert_no_secrets_in_the_audit_log()
