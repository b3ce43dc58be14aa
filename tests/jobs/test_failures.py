"""The failure catalogue: LiveKit's own error texts (livekit/egress pkg/errors, livekit/protocol
livekit_egress.go, and what users report in livekit/egress issues) named as plain causes."""

from __future__ import annotations

from typing import Any

import pytest

from egress_app import failures
from egress_app.models import EgressJob, EgressKind, EgressStatus, JobFlag, LaunchState

# (LiveKit's words, the cause the catalogue names)
LIVEKIT_ERRORS = [
    ("twirp error unavailable: no response from servers", failures.NO_WORKER),
    ("egress not connected (redis required)", failures.NOT_CONNECTED),
    ("Start signal not received", failures.START_SIGNAL),
    ("Stop called before pipeline could start", failures.STOPPED_BEFORE_START),
    ("Session limit reached before start signal", failures.SESSION_LIMIT),
    ("Session limit reached", failures.SESSION_LIMIT),
    (
        "s3://recordings/rec/town-hall.mp4 upload failed: operation error S3: PutObject",
        failures.UPLOAD_FAILED,
    ),
    ("file upload queue full (12 pending): storage cannot keep up", failures.UPLOAD_FAILED),
    ("track TR_AMkmr7yRCoHk not found", failures.TRACK_NOT_FOUND),
    ("participant alice not found", failures.PARTICIPANT_NOT_FOUND),
    ("failed to subscribe to track", failures.SUBSCRIBE_FAILED),
    ("page load error: net::ERR_NAME_NOT_RESOLVED", failures.PAGE_FAILED),
    ("template error: Uncaught TypeError", failures.PAGE_FAILED),
    ("recording ended early: connection to room failed", failures.ROOM_CONNECTION),
    ("could not establish signal connection", failures.ROOM_CONNECTION),
    ("pipeline frozen", failures.PIPELINE_FROZEN),
    ("recording ended early: track stuck in persistent FlowFlushing", failures.TRACK_STUCK),
    ("CPU exhausted: 4.21 cores used", failures.CPU_EXHAUSTED),
    ("OOM: 3.9 GB used", failures.CPU_EXHAUSTED),
    ("not enough CPU", failures.CPU_EXHAUSTED),
    ("server is shutting down", failures.WORKER_SHUTDOWN),
    ("output configuration does not support retry", failures.RETRY_FILEPATH),
    ("rtmp://live.example.com/app/{key} stream failed: connection refused", failures.STREAM_FAILED),
]


@pytest.mark.parametrize(("message", "cause"), LIVEKIT_ERRORS, ids=[m for m, _ in LIVEKIT_ERRORS])
def test_it_names_livekits_errors(message: str, cause: failures.Cause) -> None:
    assert failures.cause_of_message(message) is cause


def test_it_does_not_name_what_it_does_not_know() -> None:
    assert failures.cause_of_message("gstreamer: internal data stream error") is None


def job(**fields: Any) -> EgressJob:
    fields.setdefault("status", EgressStatus.COMPLETE)
    fields.setdefault("launch_state", LaunchState.LAUNCHED)
    fields.setdefault("egress_id", "EG_failure0001")
    return EgressJob(kind=EgressKind.ROOM_COMPOSITE, room_name="town-hall", **fields)


def file(size: int = 1024, location: str = "https://bucket/rec.mp4") -> dict[str, Any]:
    return {"filename": "rec.mp4", "size": size, "location": location}


def test_a_failed_job_gets_its_cause_and_livekits_words() -> None:
    diagnosis = failures.diagnose(
        job(status=EgressStatus.FAILED, error="Start signal not received", error_code=412)
    )

    assert diagnosis == failures.Diagnosis(failures.START_SIGNAL, "Start signal not received")
    assert diagnosis.group == "start_signal"


@pytest.mark.parametrize("status", [EgressStatus.ABORTED, EgressStatus.LIMIT_REACHED])
def test_aborted_and_limited_jobs_need_a_person(status: str) -> None:
    diagnosis = failures.diagnose(job(status=status, error="Session limit reached"))

    assert diagnosis is not None
    assert diagnosis.cause is failures.SESSION_LIMIT


def test_unknown_errors_are_shown_raw_and_grouped_by_message() -> None:
    first = failures.diagnose(
        job(status=EgressStatus.FAILED, error="gst: element EG_abc123 failed after 12 s")
    )
    second = failures.diagnose(
        job(status=EgressStatus.FAILED, error="gst: element EG_zz9 failed after 300 s")
    )

    assert first is not None
    assert second is not None
    assert first.cause is failures.UNKNOWN
    assert first.message == "gst: element EG_abc123 failed after 12 s"
    assert first.group == second.group == "unknown:gst: element … failed after … s"


def test_a_failure_without_an_error_reads_livekits_details() -> None:
    diagnosis = failures.diagnose(job(status=EgressStatus.FAILED, details="End reason: Failure"))

    assert diagnosis == failures.Diagnosis(failures.UNKNOWN, "End reason: Failure")


@pytest.mark.parametrize(
    "results",
    [
        {"files": [file(size=0)]},
        {"files": [file(location="")]},
        {"files": []},  # a file was asked for, none came
    ],
    ids=["zero bytes", "no location", "missing"],
)
def test_a_complete_job_with_an_empty_output_needs_a_person(results: dict[str, Any]) -> None:
    config = {"outputs": {"file": {"filepath": "rec.mp4"}}}

    diagnosis = failures.diagnose(job(results=results, config=config))

    assert diagnosis is not None
    assert diagnosis.cause is failures.EMPTY_OUTPUT


def test_a_complete_job_with_its_outputs_needs_no_one() -> None:
    config = {"outputs": {"file": {"filepath": "rec.mp4"}}}

    assert failures.diagnose(job(results={"files": [file()]}, config=config)) is None
    assert failures.diagnose(job(results={}, config={"outputs": {"stream": {}}})) is None


@pytest.mark.parametrize(
    ("flag", "cause"),
    [(JobFlag.STUCK_STARTING, failures.STUCK_STARTING), (JobFlag.LOST, failures.LOST)],
)
def test_flagged_jobs_need_a_person(flag: JobFlag, cause: failures.Cause) -> None:
    diagnosis = failures.diagnose(job(status=EgressStatus.ACTIVE, flag=flag))

    assert diagnosis == failures.Diagnosis(cause, "")


def test_a_start_livekit_refused_or_never_answered_needs_a_person() -> None:
    refused = job(
        launch_state=LaunchState.REFUSED,
        egress_id=None,
        status="",
        error="LiveKit answered resource_exhausted: too many egress.",
    )
    silent = job(launch_state=LaunchState.UNKNOWN, egress_id=None, status="", error="")
    no_worker = job(
        launch_state=LaunchState.REFUSED,
        egress_id=None,
        status="",
        error="no response from servers",
    )

    assert failures.diagnose(refused).cause is failures.LIVEKIT_REFUSED  # type: ignore[union-attr]
    assert failures.diagnose(silent).cause is failures.NO_ANSWER  # type: ignore[union-attr]
    assert failures.diagnose(no_worker).cause is failures.NO_WORKER  # type: ignore[union-attr]


def test_running_and_healthy_jobs_need_no_one() -> None:
    assert failures.diagnose(job(status=EgressStatus.ACTIVE)) is None
    assert failures.diagnose(job(status=EgressStatus.STARTING)) is None


def test_every_cause_has_a_distinct_key_plain_words_and_a_hint() -> None:
    assert len(failures.BY_KEY) == len(failures.CAUSES)
    for cause in failures.CAUSES:
        assert cause.title
        assert cause.hint.endswith(".")


def test_it_names_a_refusal_by_livekits_own_words_in_the_details() -> None:
    refused = job(
        launch_state=LaunchState.REFUSED,
        egress_id=None,
        status="",
        error="No egress worker accepted the job (all busy or none connected).",
        details="Twirp unavailable: twirp error unknown: no response from servers",
    )

    assert failures.diagnose(refused).cause is failures.NO_WORKER  # type: ignore[union-attr]


def test_it_advises_waiting_or_capacity_when_no_worker_took_the_job() -> None:
    hint = failures.NO_WORKER.hint
    assert "wait for running egresses to end, or add egress capacity" in hint
    assert hint.endswith("then Retry.")
    assert "configuration" not in hint
    assert "Redis" in failures.NOT_CONNECTED.hint
