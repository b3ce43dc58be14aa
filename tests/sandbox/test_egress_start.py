"""Every Start* RPC through the official SDK: what a valid request returns, and each rejection."""

from __future__ import annotations

from typing import Any

import pytest
from livekit import api

from egress_app.sandbox.testing import RunningSandbox

FILE = api.EncodedFileOutput(filepath="out/{room_name}.mp4")
SDK = api.EgressSourceType.EGRESS_SOURCE_TYPE_SDK
WEB = api.EgressSourceType.EGRESS_SOURCE_TYPE_WEB


async def test_it_starts_a_room_composite(lkapi: api.LiveKitAPI) -> None:
    info = await lkapi.egress.start_room_composite_egress(
        api.RoomCompositeEgressRequest(room_name="town-hall", layout="speaker", file_outputs=[FILE])
    )

    assert info.egress_id.startswith("EG_")
    assert len(info.egress_id) == 15
    assert info.status == api.EgressStatus.EGRESS_STARTING
    assert (info.room_name, info.source_type) == ("town-hall", WEB)
    assert info.room_id.startswith("RM_")
    assert info.started_at == info.updated_at > 0
    assert info.room_composite.layout == "speaker"
    assert info.file_results[0].filename == "out/town-hall.mp4"
    assert info.file.filename == "out/town-hall.mp4"  # deprecated single result


async def test_it_starts_an_audio_only_room_composite_on_the_sdk(lkapi: api.LiveKitAPI) -> None:
    info = await lkapi.egress.start_room_composite_egress(
        api.RoomCompositeEgressRequest(
            room_name="podcast",
            audio_only=True,
            file_outputs=[api.EncodedFileOutput(filepath="pod/")],
        )
    )

    assert info.source_type == SDK
    assert info.file_results[0].filename.startswith("pod/podcast-")
    assert info.file_results[0].filename.endswith(".ogg")


async def test_it_starts_a_web_egress(lkapi: api.LiveKitAPI) -> None:
    info = await lkapi.egress.start_web_egress(
        api.WebEgressRequest(url="https://example.com", file_outputs=[api.EncodedFileOutput()])
    )

    assert (info.room_name, info.room_id, info.source_type) == ("", "", WEB)
    assert info.web.url == "https://example.com"
    assert info.file_results[0].filename.startswith("web-")


async def test_it_starts_a_participant_egress(lkapi: api.LiveKitAPI) -> None:
    info = await lkapi.egress.start_participant_egress(
        api.ParticipantEgressRequest(
            room_name="town-hall",
            identity="alice",
            screen_share=True,
            file_outputs=[api.EncodedFileOutput(filepath="{publisher_identity}/{room_name}")],
        )
    )

    assert info.source_type == SDK
    assert info.participant.identity == "alice"
    assert info.file_results[0].filename == "alice/town-hall.mp4"


async def test_it_starts_a_track_composite_egress(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    audio = sandbox.control.track_sid("town-hall", "bob", "microphone")
    video = sandbox.control.track_sid("town-hall", "bob", "camera")

    info = await lkapi.egress.start_track_composite_egress(
        api.TrackCompositeEgressRequest(
            room_name="town-hall",
            audio_track_id=audio,
            video_track_id=video,
            segment_outputs=[
                api.SegmentedFileOutput(filename_prefix="hls/bob", playlist_name="hls/bob.m3u8")
            ],
        )
    )

    assert info.source_type == SDK
    assert info.track_composite.audio_track_id == audio
    assert info.segment_results[0].playlist_name == "hls/bob.m3u8"
    assert info.segments.playlist_name == "hls/bob.m3u8"


async def test_it_starts_a_track_egress_to_a_file(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    track = sandbox.control.track_sid("podcast", "host", "microphone")

    info = await lkapi.egress.start_track_egress(
        api.TrackEgressRequest(
            room_name="podcast",
            track_id=track,
            file=api.DirectFileOutput(filepath="{track_id}-{track_type}-{track_source}"),
        )
    )

    assert info.source_type == SDK
    assert info.file_results[0].filename == f"{track}-audio-microphone.ogg"


async def test_it_starts_a_template_egress_with_v2_outputs(lkapi: api.LiveKitAPI) -> None:
    info = await lkapi.egress.start_egress(
        api.StartEgressRequest(
            room_name="town-hall",
            template=api.TemplateSource(layout="grid"),
            preset=api.EncodingOptionsPreset.H264_1080P_30,
            outputs=[
                api.Output(file=api.FileOutput(filepath="v2/{room_name}.mp4")),
                api.Output(stream=api.StreamOutput(urls=["rtmp://live.example.com/app/key123456"])),
                api.Output(images=api.ImageOutput(capture_interval=5, filename_prefix="thumbs/t")),
            ],
            storage=api.StorageConfig(gcp=api.GCPUpload(bucket="bkt", credentials="{...}")),
        )
    )

    assert info.source_type == WEB
    assert info.egress.template.layout == "grid"
    assert info.file_results[0].location == "https://storage.googleapis.com/bkt/v2/town-hall.mp4"
    assert info.stream_results[0].url == "rtmp://live.example.com/app/{key...456}"
    assert info.image_results[0].filename_prefix == "thumbs/t"
    assert not info.HasField("file")  # several kinds of output: no deprecated result


async def test_it_starts_v2_web_and_media_egresses(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    mic = sandbox.control.track_sid("town-hall", "carol", "microphone")

    web = await lkapi.egress.start_egress(
        api.StartEgressRequest(
            web=api.WebSource(url="https://example.com/page"),
            outputs=[api.Output(file=api.FileOutput())],
        )
    )
    media = await lkapi.egress.start_egress(
        api.StartEgressRequest(
            room_name="town-hall",
            media=api.MediaSource(
                participant_video=api.ParticipantVideo(identity="carol"),
                audio=api.AudioConfig(routes=[api.AudioRoute(track_id=mic)]),
            ),
            outputs=[api.Output(segments=api.SegmentedFileOutput(filename_prefix="m/c"))],
        )
    )

    assert (web.source_type, web.room_name) == (WEB, "")
    assert web.egress.web.url == "https://example.com/page"
    assert media.source_type == SDK
    assert media.egress.media.participant_video.identity == "carol"
    assert media.segment_results[0].playlist_name == "m/c.m3u8"


async def _start_error(lkapi: api.LiveKitAPI, rpc: str, request: Any) -> api.TwirpError:
    with pytest.raises(api.TwirpError) as caught:
        await getattr(lkapi.egress, rpc)(request)
    return caught.value


INVALID = [
    pytest.param(
        "start_room_composite_egress",
        api.RoomCompositeEgressRequest(room_name="town-hall"),
        "request has missing or invalid field: output",
        id="no-output",
    ),
    pytest.param(
        "start_room_composite_egress",
        api.RoomCompositeEgressRequest(room_name="town-hall", file_outputs=[FILE, FILE]),
        "request has missing or invalid field: multiple file outputs",
        id="two-files",
    ),
    pytest.param(
        "start_room_composite_egress",
        api.RoomCompositeEgressRequest(
            room_name="town-hall", stream_outputs=[api.StreamOutput(urls=["rtmp://a/b/c"])] * 2
        ),
        "request has missing or invalid field: multiple stream outputs",
        id="two-streams",
    ),
    pytest.param(
        "start_room_composite_egress",
        api.RoomCompositeEgressRequest(
            room_name="town-hall", segment_outputs=[api.SegmentedFileOutput()] * 2
        ),
        "request has missing or invalid field: multiple segmented file outputs",
        id="two-hls",
    ),
    pytest.param(
        "start_room_composite_egress",
        api.RoomCompositeEgressRequest(
            room_name="town-hall", audio_only=True, video_only=True, file_outputs=[FILE]
        ),
        "request has missing or invalid field: audio_only and video_only",
        id="audio-and-video-only",
    ),
    pytest.param(
        "start_room_composite_egress",
        api.RoomCompositeEgressRequest(
            room_name="town-hall", stream_outputs=[api.StreamOutput(urls=["rtmp://host/key"])]
        ),
        "invalid url rtmp://host/key: rtmp urls must be of format "
        "rtmp(s)://{host}(/{path})/{app}/{stream_key}( live=1)",
        id="rtmp-without-app",
    ),
    pytest.param(
        "start_room_composite_egress",
        api.RoomCompositeEgressRequest(
            room_name="town-hall", stream_outputs=[api.StreamOutput(urls=["http://host/a/b"])]
        ),
        "invalid url http://host/a/b: invalid protocol",
        id="http-stream",
    ),
    pytest.param(
        "start_room_composite_egress",
        api.RoomCompositeEgressRequest(
            room_name="town-hall",
            stream_outputs=[
                api.StreamOutput(protocol=api.StreamProtocol.RTMP, urls=["srt://host:9000"])
            ],
        ),
        "invalid url srt://host:9000: invalid scheme",
        id="scheme-mismatch",
    ),
    pytest.param(
        "start_room_composite_egress",
        api.RoomCompositeEgressRequest(
            room_name="town-hall", stream_outputs=[api.StreamOutput(urls=["srt://host"])]
        ),
        "invalid url srt://host: srt urls must be of format srt://{host}:{port}",
        id="srt-port",
    ),
    pytest.param(
        "start_room_composite_egress",
        api.RoomCompositeEgressRequest(
            room_name="town-hall", file_outputs=[FILE], advanced=api.EncodingOptions(width=1279)
        ),
        "request has missing or invalid field: width",
        id="odd-width",
    ),
    pytest.param(
        "start_room_composite_egress",
        api.RoomCompositeEgressRequest(
            room_name="town-hall", file_outputs=[FILE], advanced=api.EncodingOptions(height=8)
        ),
        "request has missing or invalid field: height",
        id="tiny-height",
    ),
    pytest.param(
        "start_room_composite_egress",
        api.RoomCompositeEgressRequest(
            room_name="town-hall", file_outputs=[FILE], advanced=api.EncodingOptions(depth=12)
        ),
        "request has missing or invalid field: depth",
        id="depth",
    ),
    pytest.param(
        "start_room_composite_egress",
        api.RoomCompositeEgressRequest(
            room_name="town-hall", audio_only=True, image_outputs=[api.ImageOutput()]
        ),
        "request has missing or invalid field: audio_only images",
        id="audio-only-images",
    ),
    pytest.param(
        "start_web_egress",
        api.WebEgressRequest(url="ftp://x", file_outputs=[FILE]),
        "request has missing or invalid field: web url",
        id="web-url",
    ),
    pytest.param(
        "start_participant_egress",
        api.ParticipantEgressRequest(room_name="town-hall", file_outputs=[FILE]),
        "request has missing or invalid field: identity",
        id="participant-identity",
    ),
    pytest.param(
        "start_track_composite_egress",
        api.TrackCompositeEgressRequest(room_name="town-hall", file_outputs=[FILE]),
        "request has missing or invalid field: audio_track_id or video_track_id",
        id="track-composite-tracks",
    ),
    pytest.param(
        "start_track_egress",
        api.TrackEgressRequest(room_name="town-hall", websocket_url="ws://x/y"),
        "request has missing or invalid field: track_id",
        id="track-id",
    ),
    pytest.param(
        "start_track_egress",
        api.TrackEgressRequest(room_name="town-hall", track_id="TR_x"),
        "request has missing or invalid field: output",
        id="track-output",
    ),
    pytest.param(
        "start_egress",
        api.StartEgressRequest(room_name="town-hall", template=api.TemplateSource()),
        "request has missing or invalid field: output",
        id="v2-no-output",
    ),
    pytest.param(
        "start_egress",
        api.StartEgressRequest(
            room_name="town-hall",
            template=api.TemplateSource(),
            outputs=[api.Output(file=api.FileOutput()), api.Output(file=api.FileOutput())],
        ),
        "request has missing or invalid field: multiple file outputs",
        id="v2-two-files",
    ),
    pytest.param(
        "start_egress",
        api.StartEgressRequest(
            room_name="town-hall",
            media=api.MediaSource(),
            outputs=[api.Output(file=api.FileOutput())],
        ),
        "request has missing or invalid field: audio or video",
        id="v2-empty-media",
    ),
]


@pytest.mark.parametrize(("rpc", "request_", "message"), INVALID)
async def test_it_rejects_invalid_requests(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox, rpc: str, request_: Any, message: str
) -> None:
    error = await _start_error(lkapi, rpc, request_)

    assert (error.code, error.status, error.message) == ("invalid_argument", 400, message)
    assert sandbox.control.egresses() == []


async def test_it_accepts_mux_and_twitch_shortcuts(lkapi: api.LiveKitAPI) -> None:
    info = await lkapi.egress.start_room_composite_egress(
        api.RoomCompositeEgressRequest(
            room_name="town-hall",
            stream_outputs=[api.StreamOutput(urls=["mux://abcdef123", "twitch://live_999"])],
        )
    )

    urls = [s.url for s in info.stream_results]
    assert urls == [
        "rtmps://global-live.mux.com:443/app/{abc...123}",
        "rtmps://sandbox.contribute.live-video.net/app/{li...99}",
    ]
    assert [s.url for s in info.stream.info] == urls


@pytest.mark.parametrize(
    ("rpc", "request_"),
    [
        (
            "start_room_composite_egress",
            api.RoomCompositeEgressRequest(room_name="ghost", file_outputs=[FILE]),
        ),
        (
            "start_participant_egress",
            api.ParticipantEgressRequest(room_name="ghost", identity="a", file_outputs=[FILE]),
        ),
        (
            "start_track_egress",
            api.TrackEgressRequest(room_name="ghost", track_id="TR_1", websocket_url="ws://h/p"),
        ),
        (
            "start_egress",
            api.StartEgressRequest(
                room_name="ghost",
                template=api.TemplateSource(),
                outputs=[api.Output(file=api.FileOutput())],
            ),
        ),
    ],
)
async def test_it_needs_the_room_to_exist(lkapi: api.LiveKitAPI, rpc: str, request_: Any) -> None:
    error = await _start_error(lkapi, rpc, request_)

    assert (error.code, error.status, error.message) == (
        "not_found",
        404,
        "requested room does not exist",
    )
