"""Egress lifecycle, stop/update/list, endings caused by the room, results and redaction."""

from __future__ import annotations

import pytest
from livekit import api

from egress_app.sandbox.testing import RunningSandbox

Status = api.EgressStatus
RTMP = "rtmp://live.example.com/app/streamkey42"
RTMP_2 = "rtmps://b.example.com:443/live/other-key-99"


def _composite(**fields: object) -> api.RoomCompositeEgressRequest:
    fields.setdefault("room_name", "town-hall")
    return api.RoomCompositeEgressRequest(**fields)  # type: ignore[arg-type]


async def test_it_walks_starting_active_ending_complete(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    started = await lkapi.egress.start_room_composite_egress(
        _composite(
            file_outputs=[api.EncodedFileOutput(filepath="{room_name}/{time}.mp4")],
        )
    )

    active = sandbox.control.wait_for_status(started.egress_id, "ACTIVE")
    stopped = await lkapi.egress.stop_egress(api.StopEgressRequest(egress_id=started.egress_id))
    complete = sandbox.control.wait_for_status(started.egress_id, "COMPLETE")

    assert active.updated_at > started.updated_at
    assert active.file_results[0].started_at >= active.started_at
    assert stopped.status == Status.EGRESS_ENDING
    assert stopped.details == "End reason: StopEgress API"
    assert complete.details == "End reason: StopEgress API"
    assert complete.ended_at >= complete.file_results[0].started_at
    result = complete.file_results[0]
    assert result.duration == result.ended_at - result.started_at > 0
    assert result.size > 0
    assert result.location == result.filename  # no storage: the filename
    assert complete.file == result
    assert (complete.error, complete.error_code) == ("", 0)


async def test_it_aborts_an_egress_stopped_while_starting(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    sandbox.control.set_pacing(starting=5)
    started = await lkapi.egress.start_room_composite_egress(
        _composite(file_outputs=[api.EncodedFileOutput()])
    )

    stopped = await lkapi.egress.stop_egress(api.StopEgressRequest(egress_id=started.egress_id))

    assert stopped.status == Status.EGRESS_ABORTED
    assert (stopped.error, stopped.error_code) == ("Stop called before pipeline could start", 412)
    assert stopped.ended_at > 0


async def test_it_refuses_to_stop_or_update_a_finished_egress(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    started = await lkapi.egress.start_room_composite_egress(
        _composite(stream_outputs=[api.StreamOutput(urls=[RTMP])])
    )
    sandbox.control.wait_for_status(started.egress_id, "ACTIVE")
    await lkapi.egress.stop_egress(api.StopEgressRequest(egress_id=started.egress_id))
    sandbox.control.wait_for_status(started.egress_id, "COMPLETE")

    errors = []
    for call in (
        lkapi.egress.stop_egress(api.StopEgressRequest(egress_id=started.egress_id)),
        lkapi.egress.update_stream(
            api.UpdateStreamRequest(egress_id=started.egress_id, add_output_urls=[RTMP_2])
        ),
        lkapi.egress.update_layout(
            api.UpdateLayoutRequest(egress_id=started.egress_id, layout="grid")
        ),
    ):
        with pytest.raises(api.TwirpError) as caught:
            await call
        errors.append((caught.value.code, caught.value.status, caught.value.message))

    assert errors == [
        ("failed_precondition", 412, "egress with status EGRESS_COMPLETE cannot be stopped"),
        ("failed_precondition", 412, "egress with status EGRESS_COMPLETE cannot be updated"),
        ("failed_precondition", 412, "egress with status EGRESS_COMPLETE cannot be updated"),
    ]


@pytest.mark.parametrize("rpc", ["stop_egress", "update_stream", "update_layout"])
async def test_it_does_not_know_unknown_egress_ids(lkapi: api.LiveKitAPI, rpc: str) -> None:
    request = {
        "stop_egress": api.StopEgressRequest(egress_id="EG_nope"),
        "update_stream": api.UpdateStreamRequest(egress_id="EG_nope", add_output_urls=[RTMP]),
        "update_layout": api.UpdateLayoutRequest(egress_id="EG_nope", layout="grid"),
    }[rpc]

    with pytest.raises(api.TwirpError) as caught:
        await getattr(lkapi.egress, rpc)(request)

    assert (caught.value.code, caught.value.status) == ("not_found", 404)
    assert caught.value.message == "egress does not exist"


async def test_it_updates_the_layout(lkapi: api.LiveKitAPI, sandbox: RunningSandbox) -> None:
    started = await lkapi.egress.start_room_composite_egress(
        _composite(layout="grid", file_outputs=[api.EncodedFileOutput()])
    )

    updated = await lkapi.egress.update_layout(
        api.UpdateLayoutRequest(egress_id=started.egress_id, layout="speaker-light")
    )

    assert updated.room_composite.layout == "speaker-light"
    recorder = next(
        p for p in sandbox.control.participants("town-hall") if p.identity == started.egress_id
    )
    assert recorder.metadata == '{"layout": "speaker-light"}'


async def test_it_adds_and_removes_streams(lkapi: api.LiveKitAPI, sandbox: RunningSandbox) -> None:
    started = await lkapi.egress.start_room_composite_egress(
        _composite(stream_outputs=[api.StreamOutput(urls=[RTMP])])
    )
    sandbox.control.wait_for_status(started.egress_id, "ACTIVE")

    added = await lkapi.egress.update_stream(
        api.UpdateStreamRequest(egress_id=started.egress_id, add_output_urls=[RTMP_2])
    )
    removed = await lkapi.egress.update_stream(
        api.UpdateStreamRequest(egress_id=started.egress_id, remove_output_urls=[RTMP])
    )

    assert [s.url for s in added.stream_results] == [
        "rtmp://live.example.com/app/{str...y42}",
        "rtmps://b.example.com:443/live/{oth...-99}",
    ]
    assert [api.StreamInfo.Status.Name(s.status) for s in removed.stream_results] == [
        "FINISHED",
        "ACTIVE",
    ]
    assert removed.status == Status.EGRESS_ACTIVE
    assert removed.stream_results[0].duration > 0
    with pytest.raises(api.TwirpError) as caught:
        await lkapi.egress.update_stream(
            api.UpdateStreamRequest(
                egress_id=started.egress_id, remove_output_urls=["rtmp://x.example.com/a/unknown"]
            )
        )
    assert (caught.value.code, caught.value.message) == (
        "not_found",
        "stream rtmp://x.example.com/a/unknown not found",
    )
    with pytest.raises(api.TwirpError) as bad_url:
        await lkapi.egress.update_stream(
            api.UpdateStreamRequest(egress_id=started.egress_id, add_output_urls=["rtmp://nokey"])
        )
    assert bad_url.value.code == "invalid_argument"


async def test_it_ends_a_stream_only_egress_when_its_last_stream_goes(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    started = await lkapi.egress.start_room_composite_egress(
        _composite(stream_outputs=[api.StreamOutput(urls=[RTMP])])
    )
    sandbox.control.wait_for_status(started.egress_id, "ACTIVE")

    ending = await lkapi.egress.update_stream(
        api.UpdateStreamRequest(egress_id=started.egress_id, remove_output_urls=[RTMP])
    )

    assert ending.status == Status.EGRESS_ENDING
    complete = sandbox.control.wait_for_status(started.egress_id, "COMPLETE")
    assert complete.details == "End reason: All streams stopped"
    assert complete.stream_results[0].status == api.StreamInfo.Status.FINISHED


async def test_it_refuses_update_stream_on_a_file_egress(lkapi: api.LiveKitAPI) -> None:
    started = await lkapi.egress.start_room_composite_egress(
        _composite(file_outputs=[api.EncodedFileOutput()])
    )

    with pytest.raises(api.TwirpError) as caught:
        await lkapi.egress.update_stream(
            api.UpdateStreamRequest(egress_id=started.egress_id, add_output_urls=[RTMP])
        )

    assert (caught.value.code, caught.value.status, caught.value.message) == (
        "invalid_argument",
        400,
        "UpdateStream called on non-streaming egress",
    )


async def test_it_lists_with_filters_and_pages(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    file = [api.EncodedFileOutput()]
    first = await lkapi.egress.start_room_composite_egress(_composite(file_outputs=file))
    second = await lkapi.egress.start_room_composite_egress(
        _composite(room_name="podcast", file_outputs=file)
    )
    third = await lkapi.egress.start_room_composite_egress(_composite(file_outputs=file))
    await lkapi.egress.stop_egress(api.StopEgressRequest(egress_id=third.egress_id))  # aborted

    everything = await lkapi.egress.list_egress(api.ListEgressRequest())
    in_town_hall = await lkapi.egress.list_egress(api.ListEgressRequest(room_name="town-hall"))
    active = await lkapi.egress.list_egress(api.ListEgressRequest(active=True))
    one = await lkapi.egress.list_egress(
        api.ListEgressRequest(egress_id=second.egress_id, room_name="town-hall")
    )

    def ids(response: api.ListEgressResponse) -> list[str]:
        return [i.egress_id for i in response.items]

    assert ids(everything) == [first.egress_id, second.egress_id, third.egress_id]
    assert not everything.HasField("next_page_token")
    assert ids(in_town_hall) == [first.egress_id, third.egress_id]
    assert ids(active) == [first.egress_id, second.egress_id]
    assert ids(one) == [second.egress_id]  # egress_id wins over other filters

    sandbox.control.set_page_size(2)
    page_one = await lkapi.egress.list_egress(api.ListEgressRequest())
    page_two = await lkapi.egress.list_egress(
        api.ListEgressRequest(page_token=page_one.next_page_token)
    )
    assert ids(page_one) == [first.egress_id, second.egress_id]
    assert ids(page_two) == [third.egress_id]
    assert not page_two.next_page_token.token

    with pytest.raises(api.TwirpError) as caught:
        await lkapi.egress.list_egress(api.ListEgressRequest(egress_id="EG_missing"))
    assert (caught.value.code, caught.value.message) == ("not_found", "egress does not exist")


async def test_it_ends_a_participant_egress_when_the_participant_leaves(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    started = await lkapi.egress.start_participant_egress(
        api.ParticipantEgressRequest(
            room_name="town-hall", identity="bob", file_outputs=[api.EncodedFileOutput()]
        )
    )
    sandbox.control.wait_for_status(started.egress_id, "ACTIVE")

    sandbox.control.remove_participant("town-hall", "bob")

    ended = sandbox.control.wait_for_status(started.egress_id, "COMPLETE")
    assert ended.details == "End reason: Source closed"
    assert ended.file_results[0].size > 0


async def test_it_ends_a_track_egress_when_the_track_is_unpublished(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    track = sandbox.control.track_sid("town-hall", "alice", "screen_share")
    started = await lkapi.egress.start_track_egress(
        api.TrackEgressRequest(room_name="town-hall", track_id=track, file=api.DirectFileOutput())
    )
    sandbox.control.wait_for_status(started.egress_id, "ACTIVE")

    sandbox.control.unpublish_track("town-hall", track)

    ended = sandbox.control.wait_for_status(started.egress_id, "COMPLETE")
    assert ended.details == "End reason: Source closed"
    assert ended.file_results[0].filename.startswith(f"{track}-")
    assert ended.file_results[0].filename.endswith(".webm")


@pytest.mark.parametrize(
    ("storage", "location"),
    [
        (
            api.StorageConfig(s3=api.S3Upload(bucket="rec", region="eu-west-3")),
            "https://rec.s3.eu-west-3.amazonaws.com/r/t.mp4",
        ),
        (
            api.StorageConfig(
                s3=api.S3Upload(
                    bucket="rec", endpoint="https://minio.local:9000/", force_path_style=True
                )
            ),
            "https://minio.local:9000/rec/r/t.mp4",
        ),
        (
            api.StorageConfig(gcp=api.GCPUpload(bucket="rec")),
            "https://storage.googleapis.com/rec/r/t.mp4",
        ),
        (
            api.StorageConfig(azure=api.AzureBlobUpload(account_name="acct", container_name="c")),
            "https://acct.blob.core.windows.net/c/r/t.mp4",
        ),
        (
            api.StorageConfig(
                aliOSS=api.AliOSSUpload(bucket="rec", endpoint="oss-cn-hangzhou.aliyuncs.com")
            ),
            "https://rec.oss-cn-hangzhou.aliyuncs.com/r/t.mp4",
        ),
    ],
)
async def test_it_builds_upload_locations(
    lkapi: api.LiveKitAPI, storage: api.StorageConfig, location: str
) -> None:
    info = await lkapi.egress.start_egress(
        api.StartEgressRequest(
            room_name="town-hall",
            template=api.TemplateSource(),
            outputs=[
                api.Output(
                    file=api.FileOutput(filepath="r/t.webm", file_type=api.MP4), storage=storage
                )
            ],
        )
    )

    assert info.file_results[0].filename == "r/t.mp4"
    assert info.file_results[0].location == location


async def test_it_reports_segment_and_image_results(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    started = await lkapi.egress.start_room_composite_egress(
        _composite(
            segment_outputs=[
                api.SegmentedFileOutput(
                    filename_prefix="hls/{room_name}",
                    playlist_name="hls/{room_name}.m3u8",
                    live_playlist_name="hls/live.m3u8",
                    segment_duration=2,
                )
            ],
            image_outputs=[api.ImageOutput(capture_interval=1, filename_prefix="img/{room_name}")],
        )
    )
    sandbox.control.wait_for_status(started.egress_id, "ACTIVE")
    await lkapi.egress.stop_egress(api.StopEgressRequest(egress_id=started.egress_id))

    done = sandbox.control.wait_for_status(started.egress_id, "COMPLETE")

    segments, images = done.segment_results[0], done.image_results[0]
    assert (segments.playlist_name, segments.live_playlist_name) == (
        "hls/town-hall.m3u8",
        "hls/live.m3u8",
    )
    assert segments.segment_count >= 1
    assert segments.size > 0
    assert segments.duration > 0
    assert images.filename_prefix == "img/town-hall"
    assert images.image_count >= 1
    assert not done.HasField("segments")  # two kinds of output


async def test_it_redacts_secrets_but_keeps_them_for_itself(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    s3 = api.S3Upload(
        access_key="AKIA1",
        secret="shh",
        session_token="tok",
        assume_role_external_id="ext",
        bucket="b",
        region="us-east-1",
    )
    started = await lkapi.egress.start_room_composite_egress(
        _composite(
            file_outputs=[api.EncodedFileOutput(s3=s3)],
            segment_outputs=[
                api.SegmentedFileOutput(gcp=api.GCPUpload(credentials='{"key": 1}', bucket="g"))
            ],
            image_outputs=[
                api.ImageOutput(
                    azure=api.AzureBlobUpload(
                        account_name="acct", account_key="k", container_name="c"
                    )
                )
            ],
            stream_outputs=[api.StreamOutput(urls=[RTMP])],
        )
    )
    sandbox.control.wait_for_status(started.egress_id, "ACTIVE")

    echoed = started.room_composite
    assert echoed.file_outputs[0].s3.access_key == "{access_key}"
    assert echoed.file_outputs[0].s3.secret == "{secret}"
    assert echoed.file_outputs[0].s3.session_token == "{session_token}"
    assert echoed.file_outputs[0].s3.assume_role_external_id == "{external_id}"
    assert echoed.segment_outputs[0].gcp.credentials == "{credentials}"
    assert echoed.image_outputs[0].azure.account_name == "{account_name}"
    assert echoed.image_outputs[0].azure.account_key == "{account_key}"
    assert echoed.stream_outputs[0].urls == ["rtmp://live.example.com/app/{str...y42}"]
    # Removing by the original (unredacted) URL works: the sandbox kept it.
    updated = await lkapi.egress.update_stream(
        api.UpdateStreamRequest(egress_id=started.egress_id, remove_output_urls=[RTMP])
    )
    assert updated.stream_results[0].status == api.StreamInfo.Status.FINISHED
    assert updated.status == Status.EGRESS_ACTIVE  # files and segments are still recording


async def test_it_redacts_websocket_query_values(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    sandbox.control.set_pacing(starting=5)
    track = sandbox.control.track_sid("podcast", "guest", "microphone")

    info = await lkapi.egress.start_track_egress(
        api.TrackEgressRequest(
            room_name="podcast",
            track_id=track,
            websocket_url="wss://ingest.example.com/a?token=s3cr3t&p=1",
        )
    )

    assert info.track.websocket_url == "wss://ingest.example.com/a?token={...}&p={...}"
    assert info.stream_results[0].url == "wss://ingest.example.com/a?token=s3cr3t&p=1"
    await lkapi.egress.stop_egress(api.StopEgressRequest(egress_id=info.egress_id))
