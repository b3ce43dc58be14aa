"""Egress's cross-field rules: the live playlist (E:pkg/config/output_segment.go), codec and
container compatibility (E:pkg/config/pipeline.go validateAndUpdateOutputCodecs with
E:pkg/types/types.go CodecCompatibility) and the PASSTHROUGH preset (protocol doc §1.2)."""

from __future__ import annotations

from livekit.protocol import egress, models

from egress_app.sandbox.errors import TwirpError, invalid_input
from egress_app.sandbox.paths import clean, split
from egress_app.sandbox.plan import Plan, SegmentSpec

AAC, OPUS, MP3, RAW = "audio/aac", "audio/opus", "audio/mpeg", "audio/x-raw"
H264, VP8, VP9 = "video/h264", "video/vp8", "video/vp9"
# output type (egress's mime-like name) -> codecs it can carry
COMPATIBLE: dict[str, frozenset[str]] = {
    "": frozenset({AAC, OPUS, H264, VP8, VP9}),  # DEFAULT_FILETYPE, chosen later
    "video/mp4": frozenset({AAC, OPUS, H264}),
    "audio/ogg": frozenset({OPUS}),
    "audio/mpeg": frozenset({MP3}),
    "application/x-mpegurl": frozenset({AAC, H264}),
    "rtmp": frozenset({AAC, H264}),
    "srt": frozenset({AAC, H264}),
    "audio/x-raw": frozenset({RAW}),
}
ALL_AUDIO = frozenset({AAC, OPUS, RAW, MP3})
ALL_VIDEO = frozenset({H264})
FILE_OUTPUT_TYPES: dict[int, str] = {
    egress.EncodedFileType.MP4: "video/mp4",
    egress.EncodedFileType.OGG: "audio/ogg",
    egress.EncodedFileType.MP3: "audio/mpeg",
}
STREAM_OUTPUT_TYPES = {"rtmp": "rtmp", "srt": "srt", "websocket": "audio/x-raw"}
# a stream output forces its codecs over the advanced options (E:pkg/config/output_stream.go)
STREAM_CODECS = {"rtmp": (AAC, H264), "srt": (AAC, H264), "websocket": (RAW, "")}
AUDIO_CODECS = {
    models.AudioCodec.OPUS: OPUS,
    models.AudioCodec.AAC: AAC,
    models.AudioCodec.AC_MP3: MP3,
}
VIDEO_CODECS = {
    models.VideoCodec.H264_BASELINE: H264,
    models.VideoCodec.H264_MAIN: H264,
    models.VideoCodec.H264_HIGH: H264,
}  # VP8 is not handled by applyAdvanced
NO_COMPATIBLE_CODEC = "no supported codec is compatible with all outputs"


# --- live playlist -------------------------------------------------------------------------------
def _stem(name: str) -> str:
    # removeKnownExtension drops whatever follows the last dot, known extension or not
    return name.rpartition(".")[0] if "." in name else name


def check_live_playlist(spec: SegmentSpec) -> None:
    playlist_dir, playlist = split(clean(spec.playlist_name))
    live_dir, live = split(clean(spec.live_playlist_name))
    if live_dir and live_dir != playlist_dir:
        raise invalid_input("live_playlist_name must be in same directory as playlist_name")
    if _stem(live) and _stem(live) == _stem(playlist or split(clean(spec.filename_prefix))[1]):
        raise invalid_input("live_playlist_name cannot be identical to playlist_name")


# --- codecs --------------------------------------------------------------------------------------
def _output_types(plan: Plan) -> list[str]:
    """Encoded outputs in egress's GetEncodedOutputs order: file, segments, stream/websocket."""
    types = [FILE_OUTPUT_TYPES.get(spec.file_type, "") for spec in plan.files]
    types += ["application/x-mpegurl" for _ in plan.segments]
    if plan.stream is not None:
        types.append(STREAM_OUTPUT_TYPES[plan.stream.kind])
    return types


def _out_codecs(plan: Plan) -> tuple[str, str]:
    audio, video = plan.audio_codec, plan.video_codec
    if plan.stream is not None:
        forced_audio, forced_video = STREAM_CODECS[plan.stream.kind]
        audio, video = forced_audio, forced_video or video
    return audio, video


def _first_clash(chosen: str, everything: frozenset[str], types: list[str]) -> str | None:
    """The first output type that leaves no codec (the chosen one, or any) for all outputs."""
    codecs = frozenset({chosen}) if chosen else everything
    for output_type in types:
        codecs &= COMPATIBLE[output_type]
        if not codecs:
            return output_type
    return None


def check_codecs(plan: Plan) -> None:
    if plan.is_track or plan.passthrough:
        return  # egress keeps the track's codec
    types = _output_types(plan)
    audio, video = _out_codecs(plan)
    if plan.audio and (clash := _first_clash(audio, ALL_AUDIO, types)) is not None:
        _refuse(clash, audio, audio)
    if plan.video and (clash := _first_clash(video, ALL_VIDEO, types)) is not None:
        _refuse(clash, video, audio)  # egress tests the *audio* codec here (sic)


def _refuse(output_type: str, codec: str, chosen: str) -> None:
    if not chosen:
        raise TwirpError("invalid_argument", NO_COMPATIBLE_CODEC)
    raise TwirpError("invalid_argument", f"format {output_type} incompatible with codec {codec}")


# --- passthrough ---------------------------------------------------------------------------------
def check_passthrough(request: egress.StartEgressRequest) -> None:
    """PASSTHROUGH: a media source naming one track, written to one DEFAULT_FILETYPE file."""
    if request.WhichOneof("source") != "media":
        raise invalid_input("preset")
    if not _single_track(request.media):
        raise invalid_input("passthrough requires exactly one track")
    outputs = list(request.outputs)
    if len(outputs) != 1 or outputs[0].WhichOneof("config") != "file":
        raise invalid_input("passthrough requires exactly one file output")
    if outputs[0].file.file_type != egress.EncodedFileType.DEFAULT_FILETYPE:
        raise invalid_input("passthrough file_type")


def _single_track(media: egress.MediaSource) -> bool:
    routes = list(media.audio.routes)
    if media.audio.capture_all:
        return False
    if media.WhichOneof("video") == "video_track_id":
        return not routes
    if media.WhichOneof("video") is not None:
        return False
    return len(routes) == 1 and routes[0].WhichOneof("match") == "track_id"
