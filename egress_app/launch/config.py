"""The launch configuration: the plain JSON a launch form produces, its shape and its choices.

A configuration names what to record (`kind` and its section), how to encode it and where it goes
(`outputs`); it never holds a secret. Storage profiles and stream destinations are referred to by
id, ad-hoc stream URLs only by their redacted display form (the real ones travel separately).

`normalize` fills in the defaults listed here; `validation` runs LiveKit's rules for a
configuration (`encoding` and `outputs` hold those of their part), reported as Errors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal, NotRequired, TypedDict

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper
from livekit.protocol import egress, models

Api = Literal["v1", "v2"]
Kind = Literal["room_composite", "web", "participant", "track_composite", "track"]
TrackKind = Literal["", "audio", "video"]
OutputName = Literal["file", "stream", "segments", "images"]


# --- the shape -----------------------------------------------------------------------------------
# The types are a valid configuration's. normalize_launch_config keeps what it cannot coerce as
# given (a kind it does not know, "ten" for a width) so that validation can name it: the rules
# check such values, everything after validation may trust them.
class RoomCompositeSection(TypedDict):
    layout: str
    custom_base_url: str
    audio_only: bool
    video_only: bool
    audio_mixing: str  # an egress.AudioMixing name


class WebSection(TypedDict):
    url: str
    audio_only: bool
    video_only: bool
    await_start_signal: bool


class ParticipantSection(TypedDict):
    identity: str
    screen_share: bool


class TrackCompositeSection(TypedDict):
    audio_track_id: str
    video_track_id: str
    publisher_identity: str


class TrackSection(TypedDict):
    track_id: str
    websocket_url: str
    track_kind: TrackKind
    publisher_identity: str
    track_source: str
    mime_type: str


Section = (
    RoomCompositeSection | WebSection | ParticipantSection | TrackCompositeSection | TrackSection
)


class Advanced(TypedDict):
    """Advanced encoding settings; 0 (or a DEFAULT_ codec) leaves the choice to egress."""

    width: int
    height: int
    depth: int
    framerate: int
    audio_codec: str  # a livekit.AudioCodec name
    audio_bitrate: int
    audio_frequency: int
    video_codec: str  # a livekit.VideoCodec name
    video_bitrate: int
    key_frame_interval: float


class Encoding(TypedDict, total=False):
    """A preset or advanced settings (validation refuses both); none for a track egress."""

    preset: str  # an egress.EncodingOptionsPreset name
    advanced: Advanced


class FileOutput(TypedDict):
    file_type: str  # an egress.EncodedFileType name
    filepath: str
    disable_manifest: bool


class StreamOutput(TypedDict):
    destination_ids: list[int]
    adhoc: list[str]  # the ad-hoc URLs' redacted display form, never the URLs


class SegmentsOutput(TypedDict):
    filename_prefix: str
    playlist_name: str
    live_playlist_name: str
    segment_duration: int
    filename_suffix: str  # an egress.SegmentedFileSuffix name
    disable_manifest: bool


class ImagesOutput(TypedDict):
    capture_interval: int
    width: int
    height: int
    filename_prefix: str
    filename_suffix: str  # an egress.ImageFileSuffix name
    disable_manifest: bool


Output = FileOutput | StreamOutput | SegmentsOutput | ImagesOutput


class Outputs(TypedDict):
    """Every output, None when it is not wanted."""

    file: FileOutput | None
    stream: StreamOutput | None
    segments: SegmentsOutput | None
    images: ImagesOutput | None


class LaunchConfig(TypedDict):
    """A normalized configuration (normalize_launch_config's): only the section of its kind."""

    api: Api
    kind: Kind
    room_name: str
    room_composite: NotRequired[RoomCompositeSection]
    web: NotRequired[WebSection]
    participant: NotRequired[ParticipantSection]
    track_composite: NotRequired[TrackCompositeSection]
    track: NotRequired[TrackSection]
    encoding: Encoding
    outputs: Outputs
    storage_profile_id: int | None  # None: LiveKit's own storage, or nothing uploads
    server_storage: bool
    stop_after: NotRequired[int]  # seconds; the worker stops the egress then (stop_after.py)


# A configuration as a form posts it or a job or recipe stores it: read it normalized.
GivenConfig = Mapping[str, Any]
Errors = dict[str, str]


def _names(enum: EnumTypeWrapper) -> tuple[str, ...]:
    # An enum class is not iterable for mypy; its wrapper's keys() are the value names.
    return tuple(enum.keys())


# --- the choices ---------------------------------------------------------------------------------
APIS: tuple[Api, ...] = ("v1", "v2")
KINDS: tuple[Kind, ...] = ("room_composite", "web", "participant", "track_composite", "track")
LAYOUTS = (
    "grid",
    "speaker",
    "single-speaker",
    "grid-light",
    "speaker-light",
    "single-speaker-light",
)
TRACK_KINDS: tuple[TrackKind, ...] = ("", "audio", "video")
OUTPUTS: tuple[OutputName, ...] = ("file", "stream", "segments", "images")
UPLOADING_OUTPUTS: tuple[OutputName, ...] = ("file", "segments", "images")
DEFAULT_PRESET = "H264_720P_30"
# PASSTHROUGH is not a producer's choice: v2 track egress sets it itself.
PRESETS = tuple(name for name in _names(egress.EncodingOptionsPreset) if name != "PASSTHROUGH")
MIXINGS = _names(egress.AudioMixing)
AUDIO_CODECS = _names(models.AudioCodec)
VIDEO_CODECS = _names(models.VideoCodec)
FILE_TYPES = _names(egress.EncodedFileType)
SEGMENT_SUFFIXES = _names(egress.SegmentedFileSuffix)
IMAGE_SUFFIXES = _names(egress.ImageFileSuffix)
STREAM_FAMILIES = {"rtmp": "rtmp", "rtmps": "rtmp", "mux": "rtmp", "twitch": "rtmp", "srt": "srt"}

# --- the defaults --------------------------------------------------------------------------------
SECTIONS: dict[str, Section] = {
    "room_composite": {
        "layout": "",
        "custom_base_url": "",
        "audio_only": False,
        "video_only": False,
        "audio_mixing": "DEFAULT_MIXING",
    },
    "web": {"url": "", "audio_only": False, "video_only": False, "await_start_signal": False},
    "participant": {"identity": "", "screen_share": False},
    # `publisher_identity`, `track_source` and `mime_type` are what the form knows of the chosen
    # track(s): only the filename preview reads them, they are never sent.
    "track_composite": {"audio_track_id": "", "video_track_id": "", "publisher_identity": ""},
    "track": {
        "track_id": "",
        "websocket_url": "",
        "track_kind": "",
        "publisher_identity": "",
        "track_source": "",
        "mime_type": "",
    },
}
ADVANCED: Advanced = {
    "width": 0,
    "height": 0,
    "depth": 0,
    "framerate": 0,
    "audio_codec": "DEFAULT_AC",
    "audio_bitrate": 0,
    "audio_frequency": 0,
    "video_codec": "DEFAULT_VC",
    "video_bitrate": 0,
    "key_frame_interval": 0.0,
}
OUTPUT_DEFAULTS: dict[str, Output] = {
    "file": {"file_type": "DEFAULT_FILETYPE", "filepath": "", "disable_manifest": False},
    "stream": {"destination_ids": [], "adhoc": []},
    "segments": {
        "filename_prefix": "",
        "playlist_name": "",
        "live_playlist_name": "",
        "segment_duration": 4,
        "filename_suffix": "INDEX",
        "disable_manifest": False,
    },
    "images": {
        "capture_interval": 10,
        "width": 0,
        "height": 0,
        "filename_prefix": "",
        "filename_suffix": "IMAGE_SUFFIX_INDEX",
        "disable_manifest": False,
    },
}
ENUMS: dict[str, EnumTypeWrapper] = {
    "audio_mixing": egress.AudioMixing,
    "audio_codec": models.AudioCodec,
    "video_codec": models.VideoCodec,
    "file_type": egress.EncodedFileType,
}
SUFFIXES = {"segments": egress.SegmentedFileSuffix, "images": egress.ImageFileSuffix}

WHOLE_NUMBER = "Enter a whole number."


def merge_errors(errors: Errors, more: Errors) -> None:
    """Add `more` to `errors`; a path keeps the first message found for it."""
    for path, message in more.items():
        errors.setdefault(path, message)


def is_int(value: Any) -> bool:
    """A whole number as the rules take it (a bool is not one)."""
    return isinstance(value, int) and not isinstance(value, bool)


# settings.DEFAULT_AUTO_FIELD is a BigAutoField: 64 bits signed on every database.
MAX_ROW_ID = 2**63 - 1


def is_row_id(value: Any) -> bool:
    """A whole number that can be a row's key. Past MAX_ROW_ID, a lookup `pk__in` raises
    OverflowError on SQLite."""
    return is_int(value) and 0 < value <= MAX_ROW_ID


def row_id(text: str) -> int | None:
    """The row key a URL or a hidden field names, or None when no row can have it: "²" passes
    str.isdigit() and more than 4300 digits int()'s limit, and either raises in a lookup."""
    value = int(text) if re.fullmatch(r"[0-9]{1,19}", text) else 0
    return value if is_row_id(value) else None
