"""retry_egress against the sandbox over HTTP: a finished job starts again with its own
configuration and kept URLs, its profile and destinations read again, linked to the original;
running, launching, never answered and external jobs, and configurations that no longer hold,
are refused."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError

from egress_app import actions
from egress_app.actions.egress import WEBSOCKET_REF
from egress_app.actions.retry import EXTERNAL, LAUNCHING, NOT_KEPT, NOT_YOURS, UNKNOWN
from egress_app.models import (
    AuditAction,
    AuditEntry,
    AuditTarget,
    EgressJob,
    EgressStatus,
    LaunchState,
)
from egress_app.roles import PRODUCERS
from egress_app.sandbox.testing import RunningSandbox
from tests.conftest import make_user
from tests.jobs import (
    ADHOC,
    ADHOC_KEY,
    OTHER_KEY,
    STREAM_KEY,
    assert_no_secrets,
    ended,
    file_config,
    live,
    make_destination,
    make_profile,
    new_token,
    start,
    started_outside,
    stopped,
    stored_text,
    stream_config,
)
from tests.jobs.test_start import silent_start  # noqa: F401 (a fixture, used by name)

pytestmark = pytest.mark.django_db

FIXED_KEY = "SECRET-jobs-fixed-key-ABC789"


def retry(actor, job: EgressJob, **kwargs) -> EgressJob:
    return actions.retry_egress(actor, job, launch_token=new_token(), **kwargs)


def dialled(sandbox: RunningSandbox, job: EgressJob) -> list[str]:
    """The stream URLs LiveKit reports for the job's egress (it redacts their keys)."""
    assert job.egress_id
    return [stream.url for stream in sandbox.control.egress(job.egress_id).stream_results]


def refused(actor, job: EgressJob, sandbox: RunningSandbox) -> ValidationError:
    jobs, egresses = EgressJob.objects.count(), len(sandbox.control.egresses())
    with pytest.raises(ValidationError) as caught:
        retry(actor, job)
    assert EgressJob.objects.count() == jobs
    assert len(sandbox.control.egresses()) == egresses
    return caught.value


# --- a retry ------------------------------------------------------------------------------------
def test_it_retries_a_failed_stream_with_the_destinations_key_as_it_is_now(
    producer, admin, support, sandbox: RunningSandbox
):
    destination = actions.create_stream_destination(
        admin, name="YouTube", server_url="rtmp://fail.example.com/live2", stream_key=STREAM_KEY
    )
    failed = ended(sandbox, start(producer, stream_config(destination)), "FAILED")
    assert failed.cause == "stream_failed"
    actions.update_stream_destination(
        admin,
        destination,
        name="YouTube",
        server_url="rtmp://a.rtmp.youtube.com/live2",
        stream_key=FIXED_KEY,
    )

    again = retry(support, failed)

    assert again.pk != failed.pk
    assert again.retry_of == failed
    assert list(failed.retries.all()) == [again]
    assert again.started_by == support
    assert again.config == failed.config
    assert list(again.destinations.all()) == [destination]
    assert dialled(sandbox, again) == ["rtmp://a.rtmp.youtube.com/live2/{SEC...789}"]
    assert again.stream_output_url(f"destination:{destination.pk}") == (
        f"rtmp://a.rtmp.youtube.com/live2/{FIXED_KEY}"
    )
    assert live(sandbox, again).status == EgressStatus.ACTIVE
    assert_no_secrets(again)
    assert FIXED_KEY not in stored_text(again)


def test_it_retries_a_recording_with_the_same_configuration(
    producer, admin, sandbox: RunningSandbox
):
    profile = make_profile(admin)
    done = stopped(sandbox, producer, start(producer, file_config(profile)))

    again = retry(producer, done)

    assert (again.kind, again.room_name, again.storage_profile) == (
        done.kind,
        done.room_name,
        profile,
    )
    assert again.config == done.config
    assert again.launch_state == LaunchState.LAUNCHED
    assert again.egress_id not in (None, done.egress_id)
    assert sandbox.control.egress(again.egress_id).room_composite.layout == "grid"
    assert again.retry_of == done


def test_it_records_the_retry_on_both_jobs(producer, admin, support, sandbox: RunningSandbox):
    done = stopped(sandbox, producer, start(producer, file_config(make_profile(admin))))

    again = retry(support, done)

    entries = AuditEntry.objects.filter(target_type=AuditTarget.JOB, actor_name="sam-support")
    assert set(entries.values_list("target_id", "action", "outcome")) == {
        (done.pk, AuditAction.RETRIED, f"as job {again.pk}"),
        (again.pk, AuditAction.STARTED, f"retry of job {done.pk}"),
    }


def test_it_dials_the_jobs_own_adhoc_urls_again(producer, admin, sandbox: RunningSandbox):
    youtube = make_destination(admin)
    done = stopped(sandbox, producer, start(producer, stream_config(youtube), adhoc_urls=[ADHOC]))

    again = retry(producer, done)

    assert again.stream_output_url("adhoc:0") == ADHOC
    assert again.adhoc_outputs == ["rtmp://live.example.com/app/{SEC...123}"]
    assert dialled(sandbox, again) == [
        "rtmp://a.rtmp.youtube.com/live2/{SEC...123}",
        "rtmp://live.example.com/app/{SEC...123}",
    ]
    assert_no_secrets(again)


def test_it_dials_only_the_adhoc_urls_it_was_launched_with(
    producer, admin, sandbox: RunningSandbox
):
    # Launched with eleven (adhoc:10 sorts before adhoc:2 as text), one more added while it ran.
    urls = [f"rtmp://live.example.com/app{n}/{ADHOC_KEY}" for n in range(11)]
    job = live(sandbox, start(producer, stream_config(make_destination(admin)), adhoc_urls=urls))
    job = actions.add_stream_outputs(producer, job, adhoc_urls=[ADHOC])
    done = ended(sandbox, actions.stop_egress(producer, job))

    again = retry(producer, done)

    assert [again.stream_output_url(f"adhoc:{n}") for n in range(11)] == urls
    assert again.stream_output_url("adhoc:11") is None
    assert dialled(sandbox, again)[1:] == [
        f"rtmp://live.example.com/app{n}/{{SEC...123}}" for n in range(11)
    ]


def test_it_dials_the_jobs_own_websocket_again(producer, sandbox: RunningSandbox):
    websocket = "ws://127.0.0.1:9/audio?token=SECRET-jobs-ws-token-XYZ123"
    track = {
        "track_id": sandbox.control.track_sid("podcast", "host", "microphone"),
        "websocket_url": websocket,
        "track_kind": "audio",
    }
    config = {"api": "v1", "kind": "track", "room_name": "podcast", "track": track}
    failed = ended(sandbox, start(producer, config), "FAILED")  # nobody listens on port 9

    again = retry(producer, failed)

    assert again.stream_output_url(WEBSOCKET_REF) == websocket
    assert again.config["track"]["websocket_url"] == "ws://127.0.0.1:9/audio?token={...}"
    assert "SECRET-jobs-ws-token-XYZ123" not in stored_text(again)


def test_it_starts_once_per_launch_token(producer, admin, sandbox: RunningSandbox):
    done = stopped(sandbox, producer, start(producer, file_config(make_profile(admin))))
    token = new_token()

    first = actions.retry_egress(producer, done, launch_token=token)
    second = actions.retry_egress(producer, done, launch_token=token)

    assert second.pk == first.pk
    assert EgressJob.objects.count() == 2
    assert len(sandbox.control.egresses()) == 2


def test_it_keeps_livekits_refusal_on_the_new_job(producer, admin, sandbox: RunningSandbox):
    sandbox.control.add_room("studio-b")
    done = stopped(sandbox, producer, start(producer, file_config(make_profile(admin), "studio-b")))
    sandbox.control.delete_room("studio-b")

    with pytest.raises(actions.LaunchError) as caught:
        retry(producer, done)

    again = caught.value.job
    assert again.retry_of == done
    assert again.launch_state == LaunchState.REFUSED
    assert "studio-b" in again.error


# --- refused ------------------------------------------------------------------------------------
@pytest.mark.parametrize("persona", ["other", "outsider", "anonymous"])
def test_it_refuses_anyone_may_retry_does_not_allow(
    request, producer, admin, sandbox: RunningSandbox, persona
):
    # The views check may_retry first; the action refuses too, whoever calls it.
    actor = {
        "other": lambda: make_user("pia-producer", PRODUCERS),
        "outsider": lambda: request.getfixturevalue("outsider"),
        "anonymous": AnonymousUser,
    }[persona]()
    done = stopped(sandbox, producer, start(producer, file_config(make_profile(admin))))
    jobs, egresses = EgressJob.objects.count(), len(sandbox.control.egresses())

    with pytest.raises(PermissionDenied, match=NOT_YOURS):
        retry(actor, done)

    assert EgressJob.objects.count() == jobs
    assert len(sandbox.control.egresses()) == egresses


def test_it_refuses_a_running_job(producer, admin, sandbox: RunningSandbox):
    running = live(sandbox, start(producer, file_config(make_profile(admin))))

    error = refused(producer, running, sandbox)

    assert error.messages == [
        "This job is still running (active): stop it, or wait for it to end, before retrying it."
    ]


def test_it_refuses_a_job_still_waiting_for_livekit(producer, sandbox: RunningSandbox):
    launching = EgressJob.objects.create(
        kind="room_composite",
        room_name="town-hall",
        status="",
        launch_state=LaunchState.LAUNCHING,
        config=stream_config(make_destination(producer)),
        started_by=producer,
    )

    assert refused(producer, launching, sandbox).messages == [LAUNCHING]


@pytest.mark.usefixtures("silent_start")
def test_it_refuses_a_launch_livekit_never_answered(producer, admin, sandbox: RunningSandbox):
    with pytest.raises(actions.LaunchError) as caught:
        start(producer, file_config(make_profile(admin)))
    unknown = caught.value.job
    assert unknown.launch_state == LaunchState.UNKNOWN

    assert refused(producer, unknown, sandbox).messages == [UNKNOWN]


def test_it_refuses_a_job_started_outside_the_dashboard(support, sandbox: RunningSandbox):
    external = started_outside(sandbox)

    assert refused(support, external, sandbox).messages == [EXTERNAL]


def test_it_refuses_when_a_destination_was_deleted(producer, admin, sandbox: RunningSandbox):
    youtube = make_destination(admin)
    done = stopped(sandbox, producer, start(producer, stream_config(youtube)))
    actions.delete_stream_destination(admin, youtube)

    error = refused(producer, done, sandbox)

    assert error.message_dict == {
        "outputs.stream.destination_ids": ["A chosen destination no longer exists."]
    }


def test_it_refuses_when_the_storage_profile_was_deleted(producer, admin, sandbox):
    profile = make_profile(admin)
    done = stopped(sandbox, producer, start(producer, file_config(profile)))
    actions.delete_storage_profile(admin, profile)

    error = refused(producer, done, sandbox)

    assert error.message_dict == {
        "storage_profile_id": ["The chosen storage profile no longer exists."]
    }


def test_it_refuses_when_an_adhoc_url_was_removed_while_the_job_ran(
    producer, admin, sandbox: RunningSandbox
):
    other = f"rtmp://live.example.com/app/{OTHER_KEY}"
    job = live(sandbox, start(producer, stream_config(make_destination(admin)), adhoc_urls=[other]))
    job = actions.remove_stream_output(producer, job, output="adhoc:0")
    done = ended(sandbox, actions.stop_egress(producer, job))

    assert refused(producer, done, sandbox).messages == [NOT_KEPT]
