"""LiveKit's EgressInfo folded into a job: order, timestamps, results, errors, redaction."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from livekit.protocol import egress

from egress_app import actions
from egress_app.models import EgressJob, EgressStatus
from egress_app.sandbox.testing import RunningSandbox
from tests.jobs import (
    BUCKET,
    SECRETS,
    assert_no_secrets,
    ended,
    file_config,
    live,
    make_destination,
    make_profile,
    start,
)

pytestmark = pytest.mark.django_db

T0 = 1_755_000_000_123_456_789  # Unix ns
SECOND = 1_000_000_000


def job_row(**fields) -> EgressJob:
    return EgressJob.objects.create(egress_id="EG_known", kind="room_composite", **fields)


def info(status: int = egress.EGRESS_ACTIVE, updated_at: int = T0, **fields) -> egress.EgressInfo:
    fields.setdefault("egress_id", "EG_known")
    return egress.EgressInfo(room_name="town-hall", status=status, updated_at=updated_at, **fields)


def observed(update: egress.EgressInfo) -> EgressJob:
    job = actions.observe(update).job
    assert job is not None
    return job


# --- order and time -----------------------------------------------------------------------------
def test_it_ignores_an_update_older_than_the_job():
    job_row()
    observed(info(egress.EGRESS_ENDING, T0 + SECOND))

    job = observed(info(egress.EGRESS_ACTIVE, T0))

    job.refresh_from_db()
    assert job.status == EgressStatus.ENDING
    assert job.info["updated_at"] == str(T0 + SECOND)


def test_it_applies_the_same_update_twice_without_harm():
    job_row()
    observed(info(egress.EGRESS_ACTIVE, T0))

    job = observed(info(egress.EGRESS_ACTIVE, T0))

    assert job.status == EgressStatus.ACTIVE


def test_it_orders_updates_by_nanoseconds_not_microseconds():
    job_row()
    observed(info(egress.EGRESS_ENDING, T0 + 500))

    job = observed(info(egress.EGRESS_ACTIVE, T0 + 100))

    assert job.status == EgressStatus.ENDING


def test_it_turns_nanoseconds_into_aware_datetimes():
    job = job_row()

    job.apply_info(
        info(egress.EGRESS_COMPLETE, T0 + 2 * SECOND, started_at=T0, ended_at=T0 + SECOND)
    )

    assert job.started_at == datetime(2025, 8, 12, 12, 0, 0, 123456, tzinfo=UTC)
    assert job.ended_at == datetime(2025, 8, 12, 12, 0, 1, 123456, tzinfo=UTC)
    assert job.updated_at == datetime(2025, 8, 12, 12, 0, 2, 123456, tzinfo=UTC)


def test_it_ignores_an_older_update_from_livekit_after_a_stop(producer, admin, sandbox):
    job = live(sandbox, start(producer, file_config(make_profile(admin))))
    assert job.egress_id
    active = sandbox.control.egress(job.egress_id)
    actions.stop_egress(producer, job)

    job = observed(active)

    assert job.status == EgressStatus.ENDING


def test_it_keeps_an_egress_it_did_not_start_as_an_external_job():
    request = egress.TrackEgressRequest(room_name="town-hall", track_id="TR_a")

    job = observed(info(egress_id="EG_other", track=request))

    assert (job.external, job.egress_id, job.kind) == (True, "EG_other", "track")
    assert (job.status, job.room_name, job.started_by) == (EgressStatus.ACTIVE, "town-hall", None)


def test_it_keeps_an_egress_without_an_egress_id_as_an_external_job():
    failed = info(egress.EGRESS_FAILED, egress_id="", error="could not join the room")

    job = observed(failed)

    assert (job.external, job.egress_id, job.status) == (True, None, EgressStatus.FAILED)
    assert job.error == "could not join the room"
    assert EgressJob.objects.get() == job


# --- results ------------------------------------------------------------------------------------
def test_it_maps_every_kind_of_result():
    job = job_row()
    done = info(
        egress.EGRESS_COMPLETE,
        file_results=[
            egress.FileInfo(
                filename="a.mp4", size=2048, location="https://b/a.mp4", duration=SECOND
            )
        ],
        stream_results=[
            egress.StreamInfo(
                url="rtmp://a.rtmp.youtube.com/live2/{SEC...123}",
                status=egress.StreamInfo.FAILED,
                error="broken pipe",
                retries=2,
            )
        ],
        segment_results=[
            egress.SegmentsInfo(
                playlist_name="a.m3u8",
                playlist_location="https://b/a.m3u8",
                segment_count=7,
                size=4096,
                duration=28 * SECOND,
            )
        ],
        image_results=[egress.ImagesInfo(filename_prefix="shot", image_count=3)],
        manifest_location="https://b/a.json",
    )

    job.apply_info(done)

    assert job.results == {
        "files": [
            {"filename": "a.mp4", "location": "https://b/a.mp4", "size": 2048, "duration": 1.0}
        ],
        "streams": [
            {
                "url": "rtmp://a.rtmp.youtube.com/live2/{SEC...123}",
                "status": "FAILED",
                "error": "broken pipe",
                "retries": 2,
                "duration": 0.0,
                "started_at": "",
            }
        ],
        "segments": [
            {
                "playlist_name": "a.m3u8",
                "playlist_location": "https://b/a.m3u8",
                "live_playlist_name": "",
                "live_playlist_location": "",
                "segment_count": 7,
                "size": 4096,
                "duration": 28.0,
            }
        ],
        "images": [{"filename_prefix": "shot", "image_count": 3}],
        "manifest_location": "https://b/a.json",
    }


def test_it_reads_the_single_result_of_an_older_livekit():
    job = job_row()

    job.apply_info(info(egress.EGRESS_COMPLETE, file=egress.FileInfo(filename="old.mp4", size=1)))

    assert job.results["files"] == [
        {"filename": "old.mp4", "location": "", "size": 1, "duration": 0.0}
    ]


def test_it_keeps_what_livekit_reports_for_every_output(producer, admin, sandbox: RunningSandbox):
    destination = make_destination(admin)
    config = file_config(
        make_profile(admin),
        segments={
            "filename_prefix": "hls/seg",
            "playlist_name": "hls/index.m3u8",
            "segment_duration": 1,
        },
        images={"filename_prefix": "shots/img", "capture_interval": 1},
        stream={"destination_ids": [destination.pk]},
    )
    job = live(sandbox, start(producer, config))
    time.sleep(1.2)  # long enough for a segment and a snapshot

    job = ended(sandbox, actions.stop_egress(producer, job))

    results = job.results
    assert results["files"][0]["size"] > 0
    [segments] = results["segments"]
    assert segments["segment_count"] >= 1
    assert segments["playlist_location"].startswith(f"https://{BUCKET}.s3.")
    assert results["images"][0]["image_count"] >= 1
    [stream] = results["streams"]
    assert (stream["url"], stream["status"]) == (
        "rtmp://a.rtmp.youtube.com/live2/{SEC...123}",
        "FINISHED",
    )
    assert results["manifest_location"].endswith(".json")
    assert_no_secrets(job)


# --- errors -------------------------------------------------------------------------------------
def test_it_keeps_an_actions_error_while_livekit_reports_none():
    job = job_row(status=EgressStatus.ACTIVE, error="LiveKit is unreachable.", details="Twirp x")

    job.apply_info(info(egress.EGRESS_ACTIVE))

    assert (job.error, job.details) == ("LiveKit is unreachable.", "Twirp x")


def test_it_takes_livekits_error_when_the_egress_ends():
    job = job_row(status=EgressStatus.ACTIVE, error="LiveKit is unreachable.", error_code=None)

    job.apply_info(info(egress.EGRESS_COMPLETE, details="End reason: Source closed"))

    assert (job.error, job.error_code, job.details) == ("", None, "End reason: Source closed")


def test_it_keeps_the_failure_livekit_reports(producer, admin, sandbox: RunningSandbox):
    sandbox.control.add_room("fail-studio")
    job = live(sandbox, start(producer, file_config(make_profile(admin), room="fail-studio")))

    job = ended(sandbox, job, "FAILED")

    assert job.status == EgressStatus.FAILED
    assert (job.error, job.error_code) == ("recording ended early: connection to room failed", 503)
    assert job.details == "End reason: Failure"
    assert not job.is_active
    assert not job.can_stop


@pytest.mark.parametrize(
    ("room", "status", "code"),
    [("abort-studio", "ABORTED", 412), ("limit-studio", "LIMIT_REACHED", 413)],
)
def test_it_keeps_every_ending(producer, admin, sandbox: RunningSandbox, room, status, code):
    sandbox.control.add_room(room)
    job = start(producer, file_config(make_profile(admin), room=room))

    job = ended(sandbox, job, status)

    assert (job.status, job.error_code) == (f"EGRESS_{status}", code)


# --- redaction ----------------------------------------------------------------------------------
def test_it_stores_no_secret_livekit_left_in_its_answer():
    job = job_row()
    job.set_secrets(
        {"adhoc:0": "srt://srt.example.com:9000?passphrase=SECRET-jobs-proxypass-XYZ123"}
    )
    upload = egress.S3Upload(
        access_key="{access_key}", secret="SECRET-jobs-secret-XYZ123-abcdef", bucket=BUCKET
    )
    upload.proxy.password = "SECRET-jobs-proxypass-XYZ123"
    srt = "srt://srt.example.com:9000?passphrase=SECRET-jobs-proxypass-XYZ123"
    request = egress.RoomCompositeEgressRequest(
        room_name="town-hall",
        file_outputs=[egress.EncodedFileOutput(filepath="a.mp4", s3=upload)],
        stream_outputs=[egress.StreamOutput(urls=[srt])],
    )
    stream = egress.StreamInfo(
        url=srt, status=egress.StreamInfo.FAILED, error=f"dial {srt}: refused"
    )

    job.apply_info(info(room_composite=request, stream_results=[stream], error=f"{srt} failed"))

    text = json.dumps([job.info, job.results, job.error, job.details])
    for secret in SECRETS:
        assert secret not in text
    assert job.info["room_composite"]["file_outputs"][0]["s3"]["access_key"] == "{access_key}"
    assert job.info["room_composite"]["file_outputs"][0]["s3"]["secret"] == "{secret}"
    assert job.results["streams"][0]["url"] == "srt://srt.example.com:9000?passphrase={...}"
    assert job.error == "srt://srt.example.com:9000?passphrase={...} failed"
