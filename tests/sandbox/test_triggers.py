"""The deterministic failure triggers, each with LiveKit's own strings and codes."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from livekit import api

from egress_app.sandbox.testing import RunningSandbox
from tests.sandbox.conftest import twirp

FILE = [api.EncodedFileOutput(filepath="t.mp4")]


def _composite(room: str, **fields: object) -> api.RoomCompositeEgressRequest:
    fields.setdefault("file_outputs", FILE)
    return api.RoomCompositeEgressRequest(room_name=room, **fields)  # type: ignore[arg-type]


async def test_it_has_no_workers_for_no_workers_rooms(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    sandbox.control.add_room("no-workers-here")

    with pytest.raises(api.TwirpError) as caught:
        await lkapi.egress.start_room_composite_egress(_composite("no-workers-here"))

    assert (caught.value.code, caught.value.status) == ("unavailable", 503)
    assert caught.value.message == "twirp error unknown: no response from servers"
    assert sandbox.control.egresses() == []


async def test_it_answers_slow_rooms_late_but_creates_the_egress_first(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    sandbox.control.add_room("slow-room")
    sandbox.control.set_pacing(slow_start=1.0)
    body = {"room_name": "slow-room", "file_outputs": [{"filepath": "s.mp4"}]}

    with pytest.raises(httpx.ReadTimeout):
        twirp(sandbox, "StartRoomCompositeEgress", json.dumps(body).encode(), timeout=0.2)

    [created] = sandbox.control.egresses()
    assert created.room_name == "slow-room"
    began = time.monotonic()
    answer = await lkapi.egress.start_room_composite_egress(_composite("slow-room"))
    assert time.monotonic() - began >= 1.0
    assert answer.status == api.EgressStatus.EGRESS_STARTING


async def test_it_fails_fail_rooms_after_going_active(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    sandbox.control.add_room("fail-room")

    started = await lkapi.egress.start_room_composite_egress(_composite("fail-room"))

    sandbox.control.wait_for_status(started.egress_id, "ACTIVE")
    failed = sandbox.control.wait_for_status(started.egress_id, "FAILED")
    assert failed.error == "recording ended early: connection to room failed"
    assert (failed.error_code, failed.details) == (503, "End reason: Failure")
    assert failed.file_results[0].size > 0  # the recording so far is still uploaded


async def test_it_aborts_abort_rooms_for_want_of_a_start_signal(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    sandbox.control.add_room("abort-room")

    started = await lkapi.egress.start_room_composite_egress(_composite("abort-room"))

    assert sandbox.control.egress(started.egress_id).status == api.EgressStatus.EGRESS_STARTING
    aborted = sandbox.control.wait_for_status(started.egress_id, "ABORTED")
    assert (aborted.error, aborted.error_code) == ("Start signal not received", 412)


async def test_it_reaches_the_limit_in_limit_rooms(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    sandbox.control.add_room("limit-room")

    started = await lkapi.egress.start_room_composite_egress(_composite("limit-room"))

    sandbox.control.wait_for_status(started.egress_id, "ACTIVE")
    limited = sandbox.control.wait_for_status(started.egress_id, "LIMIT_REACHED")
    assert (limited.error, limited.error_code) == ("Session limit reached", 413)
    assert limited.details == "End reason: Session limit reached"
    assert limited.file_results[0].size > 0
    assert limited.file_results[0].duration > 0


async def test_it_fails_uploads_to_fail_buckets(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    started = await lkapi.egress.start_room_composite_egress(
        _composite(
            "town-hall",
            file_outputs=[
                api.EncodedFileOutput(
                    filepath="x.mp4", s3=api.S3Upload(bucket="fail-bucket", region="us-east-1")
                )
            ],
        )
    )

    failed = sandbox.control.wait_for_status(started.egress_id, "FAILED")

    assert failed.error.startswith("S3 upload failed: operation error S3: PutObject, ")
    assert "AccessDenied" in failed.error
    assert failed.error_code == 400


async def test_it_fails_an_upload_on_stop_before_the_timer(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    sandbox.control.set_pacing(failure=10)
    started = await lkapi.egress.start_room_composite_egress(
        _composite(
            "town-hall",
            file_outputs=[
                api.EncodedFileOutput(
                    azure=api.AzureBlobUpload(account_name="a", container_name="fail-c")
                )
            ],
        )
    )
    sandbox.control.wait_for_status(started.egress_id, "ACTIVE")

    await lkapi.egress.stop_egress(api.StopEgressRequest(egress_id=started.egress_id))

    failed = sandbox.control.wait_for_status(started.egress_id, "FAILED")
    assert "AuthorizationFailure" in failed.error
    assert failed.details == "End reason: StopEgress API"


async def test_it_fails_the_egress_when_its_only_stream_fails(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    started = await lkapi.egress.start_room_composite_egress(
        _composite(
            "town-hall",
            file_outputs=[],
            stream_outputs=[api.StreamOutput(urls=["rtmp://fail.example.com/live/key12345"])],
        )
    )

    failed = sandbox.control.wait_for_status(started.egress_id, "FAILED")

    assert failed.error_code == 503
    assert "fail.example.com" in failed.error
    assert "key12345" not in failed.error
    assert failed.stream_results[0].status == api.StreamInfo.Status.FAILED
    assert failed.stream_results[0].error == failed.error


async def test_it_keeps_going_when_one_of_several_streams_fails(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    started = await lkapi.egress.start_room_composite_egress(
        _composite(
            "town-hall",
            file_outputs=[],
            stream_outputs=[
                api.StreamOutput(
                    urls=["rtmp://fail.example.com/live/key1", "rtmp://ok.example.com/live/key2"]
                )
            ],
        )
    )

    active = sandbox.control.wait_for_status(started.egress_id, "ACTIVE")

    statuses = [api.StreamInfo.Status.Name(s.status) for s in active.stream_results]
    assert statuses == ["FAILED", "ACTIVE"]
    assert active.stream_results[0].error


async def test_it_fails_missing_participants_after_start_returns(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    started = await lkapi.egress.start_participant_egress(
        api.ParticipantEgressRequest(room_name="town-hall", identity="nobody", file_outputs=FILE)
    )

    assert started.status == api.EgressStatus.EGRESS_STARTING
    failed = sandbox.control.wait_for_status(started.egress_id, "FAILED")
    assert (failed.error, failed.error_code) == ("participant nobody not found", 404)
    assert failed.details == "End reason: Failure"


async def test_it_fails_missing_tracks_after_start_returns(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    started = await lkapi.egress.start_track_composite_egress(
        api.TrackCompositeEgressRequest(
            room_name="town-hall", audio_track_id="TR_missing", file_outputs=FILE
        )
    )

    failed = sandbox.control.wait_for_status(started.egress_id, "FAILED")

    assert (failed.error, failed.error_code) == ("track TR_missing not found", 404)


async def test_it_fails_websocket_egress_of_a_video_track(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    camera = sandbox.control.track_sid("town-hall", "alice", "camera")

    started = await lkapi.egress.start_track_egress(
        api.TrackEgressRequest(
            room_name="town-hall", track_id=camera, websocket_url="ws://127.0.0.1:9/audio"
        )
    )

    failed = sandbox.control.wait_for_status(started.egress_id, "FAILED")
    assert failed.error == "format audio/x-raw incompatible with codec video/VP8"
    assert failed.error_code == 400
