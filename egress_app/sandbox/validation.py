"""Start* request validation, after livekit/egress pkg/config: a request becomes a `Plan` or a
TwirpError with egress's own message."""

from __future__ import annotations

from urllib.parse import urlsplit

from google.protobuf.message import Message
from livekit.protocol import egress, models

from egress_app.sandbox.egress_rules import (
    AUDIO_CODECS,
    VIDEO_CODECS,
    check_codecs,
    check_live_playlist,
    check_passthrough,
)
from egress_app.sandbox.errors import TwirpError, invalid_input, invalid_url
from egress_app.sandbox.plan import (
    DEFAULT_AUDIO_KBPS,
    DEFAULT_VIDEO_KBPS,
    FileSpec,
    ImageSpec,
    Plan,
    SegmentSpec,
    StreamSpec,
)
from egress_app.sandbox.redact import RTMP_PATTERN

SDK = egress.EgressSourceType.EGRESS_SOURCE_TYPE_SDK
WEB = egress.EgressSourceType.EGRESS_SOURCE_TYPE_WEB
PASSTHROUGH = egress.EncodingOptionsPreset.PASSTHROUGH

# preset -> video kbps (E:pkg/config/encoding.go); audio is 128 kbps throughout.
PRESET_VIDEO_KBPS = {0: 3000, 1: 4500, 2: 4500, 3: 6000, 4: 3000, 5: 4500, 6: 4500, 7: 6000}
DEFAULT_SEGMENT_SECONDS = 4
DEFAULT_CAPTURE_INTERVAL = 10

STREAM_SCHEMES = {
    "rtmp": "rtmp",
    "rtmps": "rtmp",
    "mux": "rtmp",
    "twitch": "rtmp",
    "srt": "srt",
    "ws": "websocket",
    "wss": "websocket",
}
PROTOCOL_TYPES = {
    egress.StreamProtocol.RTMP: "rtmp",
    egress.StreamProtocol.SRT: "srt",
    egress.StreamProtocol.WEBSOCKET: "websocket",
}
RTMP_FORMAT = "rtmp urls must be of format rtmp(s)://{host}(/{path})/{app}/{stream_key}( live=1)"


# --- shared pieces -------------------------------------------------------------------------------
def _storage_of(output: Message) -> egress.StorageConfig | None:
    """The v1 embedded upload (s3/gcp/azure/aliOSS oneof) of an output, as a StorageConfig."""
    if "output" not in output.DESCRIPTOR.oneofs_by_name:
        return None
    which = output.WhichOneof("output")
    if which not in ("s3", "gcp", "azure", "aliOSS"):
        return None
    storage = egress.StorageConfig()
    getattr(storage, which).CopyFrom(getattr(output, which))
    return storage


def _check_sources(audio_only: bool, video_only: bool) -> tuple[bool, bool]:
    if audio_only and video_only:
        raise invalid_input("audio_only and video_only")
    return not video_only, not audio_only


def _check_http_url(url: str, field_name: str) -> None:
    if urlsplit(url).scheme not in ("http", "https"):
        raise invalid_input(field_name)


def _apply_encoding(
    plan: Plan, request: Message, preset_field: str = "preset", advanced_field: str = "advanced"
) -> None:
    oneof = "options" if "options" in request.DESCRIPTOR.oneofs_by_name else "encoding"
    which = request.WhichOneof(oneof)
    if which == preset_field and getattr(request, preset_field) == PASSTHROUGH:
        _check_passthrough(plan, request)
    elif which == preset_field:
        plan.video_kbps = PRESET_VIDEO_KBPS.get(getattr(request, preset_field), DEFAULT_VIDEO_KBPS)
    elif which == advanced_field:
        _check_advanced(plan, getattr(request, advanced_field))


def _check_passthrough(plan: Plan, request: Message) -> None:
    if not isinstance(request, egress.StartEgressRequest):
        raise invalid_input("preset")
    check_passthrough(request)
    plan.passthrough = True


def _check_advanced(plan: Plan, options: egress.EncodingOptions) -> None:
    plan.audio_codec = AUDIO_CODECS.get(options.audio_codec, "")
    plan.video_codec = VIDEO_CODECS.get(options.video_codec, "")
    if options.width and (options.width < 16 or options.width % 2):
        raise invalid_input("width")
    if options.height and (options.height < 16 or options.height % 2):
        raise invalid_input("height")
    if options.depth not in (0, 8, 16, 24):
        raise invalid_input("depth")
    plan.video_kbps = options.video_bitrate or DEFAULT_VIDEO_KBPS
    plan.audio_kbps = options.audio_bitrate or DEFAULT_AUDIO_KBPS


def _webhooks(request: Message) -> list[tuple[str, str]]:
    if "webhooks" not in request.DESCRIPTOR.fields_by_name:
        return []
    return [(hook.url, hook.signing_key) for hook in request.webhooks]  # type: ignore[attr-defined]


# --- streams -------------------------------------------------------------------------------------
def stream_kind(stream: egress.StreamOutput) -> str:
    if stream.protocol in PROTOCOL_TYPES:
        return PROTOCOL_TYPES[stream.protocol]
    if not stream.urls:
        raise invalid_input("stream protocol")
    kind = STREAM_SCHEMES.get(urlsplit(stream.urls[0]).scheme)
    if kind is None:
        raise invalid_url(stream.urls[0], "invalid protocol")
    return kind


def resolve_stream_url(url: str, kind: str) -> str:
    """The URL egress dials, or an invalid_argument error (E:pkg/config/urls.go ValidateUrl)."""
    parts = urlsplit(url)
    if STREAM_SCHEMES.get(parts.scheme) != kind:
        raise invalid_url(url, "invalid scheme")
    if kind == "rtmp":
        if parts.scheme == "mux":
            url = f"rtmps://global-live.mux.com:443/app/{parts.netloc}"
        elif parts.scheme == "twitch":
            url = f"rtmps://sandbox.contribute.live-video.net/app/{parts.netloc}"
        if not RTMP_PATTERN.match(url):
            raise invalid_url(url, RTMP_FORMAT)
    elif kind == "srt":
        try:
            port = parts.port
        except ValueError:
            port = None
        if not parts.hostname or port is None:
            raise invalid_url(url, "srt urls must be of format srt://{host}:{port}")
    elif not parts.hostname:
        raise invalid_url(url, "missing host")
    return url


def _stream_spec(stream: egress.StreamOutput) -> StreamSpec:
    kind = stream_kind(stream)
    urls = [resolve_stream_url(url, kind) for url in stream.urls]
    urls += [resolve_stream_url(d.url, kind) for d in stream.destinations]
    return StreamSpec(kind, urls)


# --- outputs -------------------------------------------------------------------------------------
def _file_spec(output: Message, storage: egress.StorageConfig | None = None) -> FileSpec:
    file_type = getattr(output, "file_type", egress.EncodedFileType.DEFAULT_FILETYPE)
    return FileSpec(
        file_type,
        str(getattr(output, "filepath", "")),
        storage or _storage_of(output),
        bool(getattr(output, "disable_manifest", False)),
    )


def _segment_spec(
    output: egress.SegmentedFileOutput, storage: egress.StorageConfig | None = None
) -> SegmentSpec:
    spec = SegmentSpec(
        filename_prefix=output.filename_prefix,
        playlist_name=output.playlist_name,
        live_playlist_name=output.live_playlist_name,
        segment_duration=output.segment_duration or DEFAULT_SEGMENT_SECONDS,
        storage=storage or _storage_of(output),
        disable_manifest=output.disable_manifest,
        filename_suffix=output.filename_suffix,
    )
    check_live_playlist(spec)
    return spec


def _image_spec(
    plan: Plan, output: egress.ImageOutput, storage: egress.StorageConfig | None = None
) -> ImageSpec:
    if not plan.video:
        raise invalid_input("audio_only images")
    return ImageSpec(
        output.capture_interval or DEFAULT_CAPTURE_INTERVAL,
        output.filename_prefix,
        storage or _storage_of(output),
        output.filename_suffix,
    )


def _v1_outputs(plan: Plan, request: Message) -> None:
    """updateEncodedOutputs: at most one file, stream and segments output; any number of images."""
    fields = request.DESCRIPTOR.fields_by_name
    deprecated = (
        request.WhichOneof("output") if "output" in request.DESCRIPTOR.oneofs_by_name else None
    )
    files = list(request.file_outputs)  # type: ignore[attr-defined]
    streams = list(request.stream_outputs)  # type: ignore[attr-defined]
    segments = list(request.segment_outputs)  # type: ignore[attr-defined]
    images = list(request.image_outputs)  # type: ignore[attr-defined]
    if len(files) > 1:
        raise invalid_input("multiple file outputs")
    if not files and deprecated == "file":
        files = [request.file]  # type: ignore[attr-defined]
    plan.files = [_file_spec(f) for f in files]
    if len(streams) > 1:
        raise invalid_input("multiple stream outputs")
    if not streams and deprecated == "stream":
        streams = [request.stream]  # type: ignore[attr-defined]
    if streams:
        plan.stream = _stream_spec(streams[0])
        if not (files or segments or images) and not plan.stream.urls:
            raise invalid_input("stream url")
    if len(segments) > 1:
        raise invalid_input("multiple segmented file outputs")
    if not segments and deprecated == "segments" and "segments" in fields:
        segments = [request.segments]  # type: ignore[attr-defined]
    plan.segments = [_segment_spec(s) for s in segments]
    plan.images = [_image_spec(plan, i) for i in images]
    if not (plan.files or plan.stream or plan.segments or plan.images):
        raise invalid_input("output")


def _v2_outputs(plan: Plan, request: egress.StartEgressRequest) -> None:
    if not request.outputs:
        raise invalid_input("output")
    default = request.storage if request.HasField("storage") else None
    counts = {"file": 0, "stream": 0, "segments": 0}
    messages = {
        "file": "multiple file outputs",
        "stream": "multiple stream outputs",
        "segments": "multiple segmented file outputs",
    }
    for output in request.outputs:
        storage = output.storage if output.HasField("storage") else default
        which = output.WhichOneof("config")
        if which is None:
            raise invalid_input("output config")
        if which in counts:
            counts[which] += 1
            if counts[which] > 1:
                raise invalid_input(messages[which])
        if which == "file":
            plan.files.append(_file_spec(output.file, storage))
        elif which == "stream":
            plan.stream = _stream_spec(output.stream)
            if plan.stream.kind == "websocket" and plan.audio:
                plan.video = False  # websocket is audio-only
        elif which == "segments":
            plan.segments.append(_segment_spec(output.segments, storage))
        else:
            plan.images.append(_image_spec(plan, output.images, storage))
    if not (plan.files or plan.stream or plan.segments or plan.images):
        raise invalid_input("output")


# --- v1 requests ---------------------------------------------------------------------------------
def room_composite(request: egress.RoomCompositeEgressRequest) -> Plan:
    audio, video = _check_sources(request.audio_only, request.video_only)
    if request.custom_base_url:
        _check_http_url(request.custom_base_url, "template base url")
    sdk = request.audio_only and not request.layout and not request.custom_base_url
    plan = Plan(
        "room_composite",
        request,
        request.room_name,
        SDK if sdk else WEB,
        request.room_name,
        audio,
        video,
        layout=request.layout,
    )
    _apply_encoding(plan, request)
    _v1_outputs(plan, request)
    return _room_bound(plan)


def web(request: egress.WebEgressRequest) -> Plan:
    _check_http_url(request.url, "web url")
    audio, video = _check_sources(request.audio_only, request.video_only)
    plan = Plan("web", request, "", WEB, "web", audio, video)
    _apply_encoding(plan, request)
    _v1_outputs(plan, request)
    return plan


def participant(request: egress.ParticipantEgressRequest) -> Plan:
    plan = Plan(
        "participant",
        request,
        request.room_name,
        SDK,
        request.identity,
        True,
        True,
        identity=request.identity,
    )
    if not request.identity:
        raise invalid_input("identity")
    _apply_encoding(plan, request)
    _v1_outputs(plan, request)
    return _room_bound(plan)


def track_composite(request: egress.TrackCompositeEgressRequest) -> Plan:
    audio, video = bool(request.audio_track_id), bool(request.video_track_id)
    if not audio and not video:
        raise invalid_input("audio_track_id or video_track_id")
    tracks = [t for t in (request.audio_track_id, request.video_track_id) if t]
    plan = Plan(
        "track_composite",
        request,
        request.room_name,
        SDK,
        request.room_name,
        audio,
        video,
        track_ids=tracks,
    )
    _apply_encoding(plan, request)
    _v1_outputs(plan, request)
    return _room_bound(plan)


def track(request: egress.TrackEgressRequest) -> Plan:
    if not request.track_id:
        raise invalid_input("track_id")
    plan = Plan(
        "track",
        request,
        request.room_name,
        SDK,
        request.track_id,
        True,
        True,
        track_ids=[request.track_id],
        is_track=True,
    )
    which = request.WhichOneof("output")
    if which == "file":
        plan.files = [_file_spec(request.file)]
    elif which == "websocket_url":
        plan.stream = StreamSpec(
            "websocket", [resolve_stream_url(request.websocket_url, "websocket")]
        )
    else:
        raise invalid_input("output")
    return _room_bound(plan)


# --- v2 request ----------------------------------------------------------------------------------
def start_egress(request: egress.StartEgressRequest) -> Plan:
    which = request.WhichOneof("source")
    if which == "template":
        plan = _template(request)
    elif which == "web":
        _check_http_url(request.web.url, "web url")
        audio, video = _check_sources(request.web.audio_only, request.web.video_only)
        plan = Plan("egress", request, "", WEB, "web", audio, video)
    elif which == "media":
        plan = _media(request)
    else:
        raise invalid_input("source")
    _apply_encoding(plan, request)
    _v2_outputs(plan, request)
    return _room_bound(plan) if which != "web" else plan


def _template(request: egress.StartEgressRequest) -> Plan:
    source = request.template
    audio, video = _check_sources(source.audio_only, source.video_only)
    if source.custom_base_url:
        _check_http_url(source.custom_base_url, "template base url")
    sdk = source.audio_only and not source.layout and not source.custom_base_url
    return Plan(
        "egress",
        request,
        request.room_name,
        SDK if sdk else WEB,
        request.room_name,
        audio,
        video,
        layout=source.layout,
    )


def _media(request: egress.StartEgressRequest) -> Plan:
    source = request.media
    video_choice = source.WhichOneof("video")
    has_audio = source.HasField("audio") and (source.audio.capture_all or bool(source.audio.routes))
    if video_choice is None and not has_audio:
        raise invalid_input("audio or video")
    plan = Plan(
        "egress",
        request,
        request.room_name,
        SDK,
        request.room_name,
        has_audio,
        video_choice is not None,
    )
    if video_choice == "video_track_id":
        plan.track_ids.append(source.video_track_id)
    elif video_choice == "participant_video":
        if not source.participant_video.identity:
            raise invalid_input("identity")
        plan.identity = source.participant_video.identity
    for route in source.audio.routes:
        if route.WhichOneof("match") == "track_id":
            plan.track_ids.append(route.track_id)
        elif route.WhichOneof("match") == "participant_identity" and not plan.identity:
            plan.identity = route.participant_identity
    return plan


def _room_bound(plan: Plan) -> Plan:
    if not plan.room_name:
        raise invalid_input("room_name")
    plan.webhooks = _webhooks(plan.request)
    return plan


def build_plan(request: Message) -> Plan:
    builders = {
        egress.RoomCompositeEgressRequest: room_composite,
        egress.WebEgressRequest: web,
        egress.ParticipantEgressRequest: participant,
        egress.TrackCompositeEgressRequest: track_composite,
        egress.TrackEgressRequest: track,
        egress.StartEgressRequest: start_egress,
    }
    builder = builders.get(type(request))
    if builder is None:
        raise TwirpError("invalid_argument", "request has missing or invalid field: request")
    plan = builder(request)  # type: ignore[operator]
    check_codecs(plan)
    plan.webhooks = _webhooks(request)
    return plan


def track_kind(track: models.TrackInfo) -> str:
    return "video" if track.type == models.TrackType.VIDEO else "audio"
