"""Egress's cross-field rules through the official SDK: the live playlist, codec and container
compatibility, and the PASSTHROUGH preset (egress's own messages, invalid_argument 400)."""

from __future__ import annotations

from typing import Any

import pytest
from livekit import api

from egress_app.sandbox.testing import RunningSandbox

ROOM = "town-hall"
RTMP = api.StreamOutput(urls=["rtmp://live.example.com/app/key123456"])
FIELD = "request has missing or invalid field: "
NO_CODEC = "no supported codec is compatible with all outputs"
PASSTHROUGH = api.EncodingOptionsPreset.PASSTHROUGH


def file(file_type: int = 0) -> api.EncodedFileOutput:
    return api.EncodedFileOutput(filepath="out/rec", file_type=file_type)


def hls(playlist: str = "", live: str = "", prefix: str = "") -> api.SegmentedFileOutput:
    return api.SegmentedFileOutput(
        filename_prefix=prefix, playlist_name=playlist, live_playlist_name=live
    )


def room(**fields: Any) -> tuple[str, Any]:
    return "start_room_composite_egress", api.RoomCompositeEgressRequest(room_name=ROOM, **fields)


def v2(*outputs: api.Output, **fields: Any) -> tuple[str, Any]:
    return "start_egress", api.StartEgressRequest(room_name=ROOM, outputs=list(outputs), **fields)


def codecs(audio: int = 0, video: int = 0) -> api.EncodingOptions:
    return api.EncodingOptions(audio_codec=audio, video_codec=video)


def media_track(track: str = "TR_x") -> api.MediaSource:
    return api.MediaSource(video_track_id=track)


V2_FILE = api.Output(file=api.FileOutput(filepath="t/"))
OPUS, AAC, MP3 = api.AudioCodec.OPUS, api.AudioCodec.AAC, api.AudioCodec.AC_MP3
H264 = api.VideoCodec.H264_MAIN
OGG, MP3_FILE = api.EncodedFileType.OGG, api.EncodedFileType.MP3

REFUSED = [
    pytest.param(
        room(segment_outputs=[hls("a/list", "b/live")]),
        FIELD + "live_playlist_name must be in same directory as playlist_name",
        id="live-playlist-elsewhere",
    ),
    pytest.param(
        room(segment_outputs=[hls("list", "hls/live")]),
        FIELD + "live_playlist_name must be in same directory as playlist_name",
        id="live-playlist-in-a-folder-of-its-own",
    ),
    pytest.param(
        room(segment_outputs=[hls("hls/list.m3u8", "hls/list")]),
        FIELD + "live_playlist_name cannot be identical to playlist_name",
        id="live-playlist-is-the-playlist",
    ),
    pytest.param(
        room(segment_outputs=[hls(prefix="seg", live="seg.m3u8")]),
        FIELD + "live_playlist_name cannot be identical to playlist_name",
        id="live-playlist-is-the-default-playlist",
    ),
    pytest.param(room(file_outputs=[file(OGG)]), NO_CODEC, id="ogg-with-video"),
    pytest.param(room(file_outputs=[file(MP3_FILE)]), NO_CODEC, id="mp3-with-video"),
    pytest.param(
        room(file_outputs=[file(MP3_FILE)], advanced=codecs(MP3, H264)),
        "format audio/mpeg incompatible with codec video/h264",
        id="mp3-with-h264",
    ),
    pytest.param(
        room(file_outputs=[file(OGG)], advanced=codecs(OPUS)),
        "format audio/ogg incompatible with codec ",  # egress names the (unset) video codec
        id="ogg-with-video-and-opus",
    ),
    pytest.param(
        room(audio_only=True, file_outputs=[file(OGG)], advanced=codecs(AAC)),
        "format audio/ogg incompatible with codec audio/aac",
        id="aac-in-ogg",
    ),
    pytest.param(
        room(audio_only=True, file_outputs=[file(OGG)], stream_outputs=[RTMP]),
        "format audio/ogg incompatible with codec audio/aac",
        id="ogg-beside-a-stream",
    ),
    pytest.param(
        room(audio_only=True, file_outputs=[file(MP3_FILE)], advanced=codecs(OPUS)),
        "format audio/mpeg incompatible with codec audio/opus",
        id="opus-in-mp3",
    ),
    pytest.param(
        room(audio_only=True, file_outputs=[file()], advanced=codecs(MP3)),
        "format  incompatible with codec audio/mpeg",
        id="mp3-codec-in-a-default-file",
    ),
    pytest.param(
        room(segment_outputs=[hls("list")], advanced=codecs(OPUS)),
        "format application/x-mpegurl incompatible with codec audio/opus",
        id="opus-in-hls",
    ),
    pytest.param(
        room(audio_only=True, segment_outputs=[hls("list")], advanced=codecs(MP3)),
        "format application/x-mpegurl incompatible with codec audio/mpeg",
        id="mp3-in-hls",
    ),
    pytest.param(
        room(audio_only=True, file_outputs=[file(OGG)], segment_outputs=[hls("list")]),
        NO_CODEC,
        id="ogg-beside-hls",
    ),
    pytest.param(
        v2(V2_FILE, template=api.TemplateSource(), preset=PASSTHROUGH),
        FIELD + "preset",
        id="passthrough-template",
    ),
    pytest.param(
        room(file_outputs=[file()], preset=PASSTHROUGH), FIELD + "preset", id="passthrough-v1"
    ),
    pytest.param(
        v2(
            V2_FILE,
            media=api.MediaSource(participant_video=api.ParticipantVideo(identity="alice")),
            preset=PASSTHROUGH,
        ),
        FIELD + "passthrough requires exactly one track",
        id="passthrough-participant",
    ),
    pytest.param(
        v2(
            V2_FILE,
            media=api.MediaSource(
                video_track_id="TR_v", audio=api.AudioConfig(routes=[api.AudioRoute(track_id="a")])
            ),
            preset=PASSTHROUGH,
        ),
        FIELD + "passthrough requires exactly one track",
        id="passthrough-two-tracks",
    ),
    pytest.param(
        v2(V2_FILE, api.Output(stream=RTMP), media=media_track(), preset=PASSTHROUGH),
        FIELD + "passthrough requires exactly one file output",
        id="passthrough-two-outputs",
    ),
    pytest.param(
        v2(api.Output(segments=hls("list")), media=media_track(), preset=PASSTHROUGH),
        FIELD + "passthrough requires exactly one file output",
        id="passthrough-hls",
    ),
    pytest.param(
        v2(
            api.Output(file=api.FileOutput(file_type=api.EncodedFileType.MP4)),
            media=media_track(),
            preset=PASSTHROUGH,
        ),
        FIELD + "passthrough file_type",
        id="passthrough-mp4",
    ),
]


@pytest.mark.parametrize(("call", "message"), REFUSED)
async def test_it_refuses_what_egress_refuses(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox, call: tuple[str, Any], message: str
) -> None:
    rpc, request = call

    with pytest.raises(api.TwirpError) as caught:
        await getattr(lkapi.egress, rpc)(request)

    error = caught.value
    assert (error.code, error.status, error.message) == ("invalid_argument", 400, message)
    assert sandbox.control.egresses() == []


ACCEPTED = [
    pytest.param(room(segment_outputs=[hls("hls/list", "hls/live")]), id="live-playlist-beside"),
    pytest.param(room(segment_outputs=[hls("hls/list", "live")]), id="live-playlist-bare-name"),
    pytest.param(
        room(audio_only=True, file_outputs=[file(OGG)], advanced=codecs(OPUS)), id="opus-in-ogg"
    ),
    pytest.param(room(audio_only=True, file_outputs=[file(MP3_FILE)]), id="mp3-audio-only"),
    pytest.param(
        room(audio_only=True, file_outputs=[file(MP3_FILE)], advanced=codecs(MP3)),
        id="mp3-codec-in-mp3",
    ),
    pytest.param(
        room(file_outputs=[file()], stream_outputs=[RTMP], advanced=codecs(OPUS)),
        id="opus-overridden-by-a-stream",
    ),
    pytest.param(
        room(file_outputs=[file()], segment_outputs=[hls("l")], advanced=codecs(AAC, H264)),
        id="aac-h264-file-and-hls",
    ),
]


@pytest.mark.parametrize("call", ACCEPTED)
async def test_it_starts_what_egress_starts(lkapi: api.LiveKitAPI, call: tuple[str, Any]) -> None:
    rpc, request = call

    info = await getattr(lkapi.egress, rpc)(request)

    assert info.status == api.EgressStatus.EGRESS_STARTING


async def test_it_starts_a_passthrough_of_one_track_to_one_file(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    mic = sandbox.control.track_sid(ROOM, "carol", "microphone")
    audio = api.AudioConfig(routes=[api.AudioRoute(track_id=mic)])

    info = await lkapi.egress.start_egress(
        api.StartEgressRequest(
            room_name=ROOM,
            media=api.MediaSource(audio=audio),
            preset=PASSTHROUGH,
            outputs=[api.Output(file=api.FileOutput(filepath="t/"))],
        )
    )

    assert info.status == api.EgressStatus.EGRESS_STARTING
    assert info.file_results[0].filename.startswith("t/")
