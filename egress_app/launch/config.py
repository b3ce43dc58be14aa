"""The launch configuration: the plain JSON a launch form produces, its shape and its choices.

A configuration names what to record (`kind` and its section), how to encode it and where it goes
(`outputs`); it never holds a secret. Storage profiles and stream destinations are referred to by
id, ad-hoc stream URLs only by their redacted display form (the real ones travel separately).

`normalize` fills in the defaults listed here; `validation` runs LiveKit's rules for a
configuration (`encoding` and `outputs` hold those of their part), reported as Errors.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper
from livekit.protocol import egress, models

# Re-exported while the sandbox still imports clean_path from here; it lives in `paths`.
from egress_app.launch.paths import clean_path as clean_path

LaunchConfig = dict[str, Any]
Errors = dict[str, str]


def _names(enum: EnumTypeWrapper) -> tuple[str, ...]:
    # An enum class is not iterable for mypy; its wrapper's keys() are the value names.
    return tuple(enum.keys())


APIS = ("v1", "v2")
KINDS = ("room_composite", "web", "participant", "track_composite", "track")
LAYOUTS = (
    "grid",
    "speaker",
    "single-speaker",
    "grid-light",
    "speaker-light",
    "single-speaker-light",
)
TRACK_KINDS = ("", "audio", "video")
OUTPUTS = ("file", "stream", "segments", "images")
UPLOADING_OUTPUTS = ("file", "segments", "images")
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

SECTIONS: dict[str, dict[str, Any]] = {
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
ADVANCED: dict[str, Any] = {
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
OUTPUT_DEFAULTS: dict[str, dict[str, Any]] = {
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
