"""The launch configuration: the plain JSON a launch form produces, and LiveKit's rules for it.

A configuration names what to record (`kind` and its section), how to encode it and where it goes
(`outputs`); it never holds a secret. Storage profiles and stream destinations are referred to by
id, ad-hoc stream URLs only by their redacted display form (the real ones travel separately).

The rules are egress's own (livekit/egress pkg/config: pipeline.go, encoding.go, output*.go,
urls.go; pkg/types/types.go for codec and container compatibility), each reported next to the
field it concerns, so that a producer learns before the call what LiveKit would refuse.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper
from livekit.protocol import egress, models

from egress_app.livekit.redact import redact_stream_url
from egress_app.models import StorageProfile, StreamDestination
from egress_app.storage import destinations
from egress_app.storage.providers import path_template_error

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
NO_OUTPUT = "Choose at least one output."
NEEDS_AAC = "Live streams and HLS segments carry AAC audio: choose AAC or the default."
VP8 = (
    "LiveKit Egress does not encode VP8 (it ignores the choice and records H.264): "
    "choose an H.264 profile."
)
ADHOC_RTMP = "RTMP URLs look like rtmp://host/app/stream-key."
ADHOC_SHORTHAND = "Put the stream key after the scheme: mux://KEY or twitch://KEY."


# --- normalizing ---------------------------------------------------------------------------------
def normalize_launch_config(
    config: LaunchConfig, *, adhoc_urls: Sequence[str] | None = None
) -> LaunchConfig:
    """Defaults filled, numbers and flags coerced, unknown keys dropped; an output is a mapping
    (`{}` takes every default), anything else (null, false, absent) becomes None.

    Values that cannot be coerced are kept as given, for validation to explain. Only the
    section named by `kind` is kept. Given the real `adhoc_urls`, the stream output shows
    their redacted display form. Idempotent.
    """
    config = config if isinstance(config, Mapping) else {}
    kind = _text(config.get("kind")) or "room_composite"
    normalized: LaunchConfig = {
        "api": _text(config.get("api")).lower() or "v1",
        "kind": kind,
        "room_name": _text(config.get("room_name")),
    }
    if kind in SECTIONS:
        normalized[kind] = _fill(SECTIONS[kind], config.get(kind), ENUMS)
    normalized["encoding"] = _encoding(config.get("encoding"), kind)
    normalized["outputs"] = _outputs(config.get("outputs"))
    normalized["storage_profile_id"] = _optional_int(config.get("storage_profile_id"))
    normalized["server_storage"] = _bool(config.get("server_storage"))
    stream = normalized["outputs"]["stream"]
    if adhoc_urls is not None and stream is not None:
        stream["adhoc"] = [redact_stream_url(url.strip()) for url in adhoc_urls if url.strip()]
    return normalized


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "on", "yes")
    return bool(value)


def _int(value: Any, default: int = 0) -> Any:
    """An int, or the value as given when it is not one (validation names it)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value.strip())
    return value


def _float(value: Any, default: float = 0.0) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, bool):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def _optional_int(value: Any) -> Any:
    return None if value in (None, "") else _int(value)


def _enum_name(value: Any, enum: EnumTypeWrapper, default: str) -> Any:
    if value is None or value == "":
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return enum.Name(value) if value in enum.values() else value
    return str(value).strip().upper()


def _fill(
    defaults: Mapping[str, Any], given: Any, enums: Mapping[str, EnumTypeWrapper]
) -> dict[str, Any]:
    given = given if isinstance(given, Mapping) else {}
    return {
        name: _coerce(name, default, given.get(name), enums) for name, default in defaults.items()
    }


def _coerce(name: str, default: Any, value: Any, enums: Mapping[str, EnumTypeWrapper]) -> Any:
    if name in enums:
        return _enum_name(value, enums[name], default)
    if isinstance(default, bool):
        return _bool(value)
    if isinstance(default, int):
        return _int(value, default)
    if isinstance(default, float):
        return _float(value, default)
    if isinstance(default, list):
        return _items(name, value)
    return _text(value)


def _items(name: str, value: Any) -> list[Any]:
    values = list(value) if isinstance(value, list | tuple) else ([] if value is None else [value])
    if name == "destination_ids":
        return [_int(item) for item in values if item not in (None, "")]
    return [text for item in values if (text := _text(item))]


def _encoding(given: Any, kind: str) -> dict[str, Any]:
    given = given if isinstance(given, Mapping) else {}
    encoding: dict[str, Any] = {}
    if given.get("preset") not in (None, ""):
        encoding["preset"] = _enum_name(given["preset"], egress.EncodingOptionsPreset, "")
    if isinstance(given.get("advanced"), Mapping):
        encoding["advanced"] = _fill(ADVANCED, given["advanced"], ENUMS)
    if not encoding and kind != "track":
        encoding["preset"] = DEFAULT_PRESET
    return encoding


def _outputs(given: Any) -> dict[str, Any]:
    given = given if isinstance(given, Mapping) else {}
    outputs: dict[str, Any] = {}
    for name in OUTPUTS:
        value = given.get(name)
        enums = {**ENUMS, "filename_suffix": SUFFIXES[name]} if name in SUFFIXES else ENUMS
        # Any mapping is an output ({} takes every default); null, false or absent is none.
        present = isinstance(value, Mapping)
        outputs[name] = _fill(OUTPUT_DEFAULTS[name], value, enums) if present else None
    return outputs


# --- facts the rules share -----------------------------------------------------------------------
def storage_needed(config: LaunchConfig) -> bool:
    """Whether the configuration has an output that uploads (file, segments or images)."""
    outputs = normalize_launch_config(config)["outputs"]
    return any(outputs[name] is not None for name in UPLOADING_OUTPUTS)


def has_media(config: LaunchConfig) -> tuple[bool, bool]:
    """(audio, video) of a normalized configuration, as egress decides it from the request."""
    kind = config["kind"]
    section = config.get(kind) or {}
    if kind in ("room_composite", "web"):
        return not section["video_only"], not section["audio_only"]
    if kind == "track_composite":
        return bool(section["audio_track_id"]), bool(section["video_track_id"])
    if kind == "track":
        track_kind = section["track_kind"]
        return track_kind != "video", track_kind != "audio"
    return True, True  # participant egress: egress always expects both


def clean_path(path: str) -> str:
    """A path as egress cleans it before use (pkg/config/output_file.go `clean`)."""
    ending_slash = path.endswith("/")
    path = posixpath.normpath(path) if path else ""
    while path.startswith("../"):
        path = path[3:]
    if path in ("", ".", ".."):
        return ""
    return f"{path}/" if ending_slash else path


# --- validation ----------------------------------------------------------------------------------
def validate_launch_config(config: LaunchConfig, *, adhoc_urls: Sequence[str] = ()) -> Errors:
    """Field path -> plain message for each broken rule; {} when LiveKit would accept it.

    `adhoc_urls` are the real ad-hoc stream URLs, the ones `outputs.stream.adhoc` shows.
    Looks up the storage profile and stream destinations the configuration names.
    """
    config = normalize_launch_config(config)
    errors: Errors = {}
    if config["api"] not in APIS:
        errors["api"] = "Choose the v1 (per-type) or v2 (unified) API."
    if config["kind"] not in KINDS:
        errors["kind"] = "Choose what to record."
        return errors
    checks: tuple[Callable[[LaunchConfig], Errors], ...] = (
        _source_errors,
        _encoding_errors,
        _output_errors,
        _codec_errors,
        _storage_errors,
    )
    for check in checks:
        _merge(errors, check(config))
    stream = config["outputs"]["stream"]
    if stream is not None and config["kind"] != "track":
        _merge(errors, _stream_errors(stream, list(adhoc_urls)))
    return errors


def _merge(errors: Errors, more: Errors) -> None:
    for path, message in more.items():
        errors.setdefault(path, message)


# --- what to record ------------------------------------------------------------------------------
def _source_errors(config: LaunchConfig) -> Errors:
    kind = config["kind"]
    errors = _room_errors(config)
    section_checks: dict[str, Callable[[LaunchConfig], Errors]] = {
        "room_composite": _room_composite_errors,
        "web": _web_errors,
        "participant": _participant_errors,
        "track_composite": _track_composite_errors,
        "track": _track_errors,
    }
    _merge(errors, section_checks[kind](config))
    return errors


def _room_errors(config: LaunchConfig) -> Errors:
    if config["kind"] == "web":
        if config["room_name"]:
            return {"room_name": "A web egress records a page, not a room: leave the room empty."}
        return {}
    if not config["room_name"]:
        return {"room_name": "Choose a room."}
    return {}


def _both_only_flags(section: Mapping[str, Any], kind: str) -> Errors:
    if section["audio_only"] and section["video_only"]:
        return {f"{kind}.audio_only": "Choose audio only or video only, not both."}
    return {}


def _not_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme not in ("http", "https") or not parts.netloc or bool(re.search(r"\s", url))


def _room_composite_errors(config: LaunchConfig) -> Errors:
    section = config["room_composite"]
    errors = _both_only_flags(section, "room_composite")
    if section["custom_base_url"]:
        if _not_http_url(section["custom_base_url"]):
            errors["room_composite.custom_base_url"] = (
                "The template address must start with http:// or https://."
            )
    elif section["layout"] and section["layout"] not in LAYOUTS:
        errors["room_composite.layout"] = (
            "Choose grid, speaker or single-speaker (each also in -light), "
            "or give a custom template address for other layouts."
        )
    _merge(errors, _audio_mixing_errors(config))
    return errors


def _audio_mixing_errors(config: LaunchConfig) -> Errors:
    section = config["room_composite"]
    mixing = section["audio_mixing"]
    if mixing not in MIXINGS:
        return {"room_composite.audio_mixing": "Choose how to mix the audio."}
    if mixing == "DEFAULT_MIXING":
        return {}
    if config["api"] == "v2":
        return {
            "room_composite.audio_mixing": (
                "The unified API (v2) has no audio mixing option: use the v1 API for "
                "dual-channel audio, or default mixing."
            )
        }
    if not section["audio_only"]:
        return {
            "room_composite.audio_mixing": (
                "Dual-channel mixing applies to audio-only recordings: tick audio only, "
                "or use default mixing."
            )
        }
    return {}


def _web_errors(config: LaunchConfig) -> Errors:
    section = config["web"]
    errors = _both_only_flags(section, "web")
    if _not_http_url(section["url"]):
        errors["web.url"] = "Enter the page's address, starting with http:// or https://."
    return errors


def _participant_errors(config: LaunchConfig) -> Errors:
    if not config["participant"]["identity"]:
        return {"participant.identity": "Choose the participant to record."}
    return {}


def _track_composite_errors(config: LaunchConfig) -> Errors:
    section = config["track_composite"]
    if not section["audio_track_id"] and not section["video_track_id"]:
        return {"track_composite.audio_track_id": "Choose an audio track, a video track or both."}
    return {}


def _track_errors(config: LaunchConfig) -> Errors:
    section = config["track"]
    errors: Errors = {}
    if not section["track_id"]:
        errors["track.track_id"] = "Choose the track to record."
    if section["track_kind"] not in TRACK_KINDS:
        errors["track.track_kind"] = "Choose audio or video."
    url = section["websocket_url"]
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.netloc or re.search(r"\s", url):
            errors["track.websocket_url"] = "WebSocket addresses start with ws:// or wss://."
        elif section["track_kind"] == "video":
            errors["track.websocket_url"] = "A WebSocket carries audio only: choose an audio track."
    elif config["api"] == "v2" and config["outputs"]["file"] and not section["track_kind"]:
        errors["track.track_kind"] = (
            "Say whether the track is audio or video: the unified API (v2) asks for it."
        )
    return errors


# --- encoding ------------------------------------------------------------------------------------
def _encoding_errors(config: LaunchConfig) -> Errors:
    encoding = config["encoding"]
    if config["kind"] == "track":
        if encoding:
            return {"encoding": "A track egress keeps the track as published: no encoding options."}
        return {}
    if "preset" in encoding and "advanced" in encoding:
        return {"encoding": "Choose a preset or advanced settings, not both."}
    if "preset" in encoding:
        if encoding["preset"] not in PRESETS:
            return {"encoding.preset": "Choose one of LiveKit's presets."}
        return {}
    return _advanced_errors(encoding["advanced"])


def _advanced_errors(advanced: Mapping[str, Any]) -> Errors:
    errors: Errors = {}
    checks: dict[str, Callable[[Any], str | None]] = {
        "width": lambda v: _dimension_error(v, "Width"),
        "height": lambda v: _dimension_error(v, "Height"),
        "depth": lambda v: None if v in (0, 8, 16, 24) else "Depth must be 8, 16 or 24.",
        "framerate": lambda v: (
            None if v == 0 or 1 <= v <= 60 else "Frame rate must be between 1 and 60."
        ),
        "audio_bitrate": lambda v: None if v >= 0 else "Bitrate must be more than 0.",
        "video_bitrate": lambda v: None if v >= 0 else "Bitrate must be more than 0.",
        "audio_frequency": lambda v: None if v >= 0 else "Sample rate must be more than 0.",
    }
    for name, check in checks.items():
        value = advanced[name]
        if not _is_int(value):
            errors[f"encoding.advanced.{name}"] = WHOLE_NUMBER
        elif message := check(value):
            errors[f"encoding.advanced.{name}"] = message
    interval = advanced["key_frame_interval"]
    if not isinstance(interval, float):
        errors["encoding.advanced.key_frame_interval"] = "Enter a number of seconds."
    elif interval < 0:
        errors["encoding.advanced.key_frame_interval"] = (
            "The key frame interval cannot be negative."
        )
    if advanced["audio_codec"] not in AUDIO_CODECS:
        errors["encoding.advanced.audio_codec"] = "Choose an audio codec."
    if advanced["video_codec"] not in VIDEO_CODECS:
        errors["encoding.advanced.video_codec"] = "Choose a video codec."
    elif advanced["video_codec"] == "VP8":
        errors["encoding.advanced.video_codec"] = VP8
    return errors


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _dimension_error(value: int, label: str) -> str | None:
    if value == 0 or (value >= 16 and value % 2 == 0):
        return None
    return f"{label} must be even and at least 16."


# --- outputs -------------------------------------------------------------------------------------
def _output_errors(config: LaunchConfig) -> Errors:
    outputs = config["outputs"]
    if config["kind"] == "track":
        errors = _track_output_errors(config)
    elif not any(outputs[name] is not None for name in OUTPUTS):
        return {"outputs": NO_OUTPUT}
    else:
        errors = {}
    if outputs["file"] is not None:
        _merge(errors, _file_errors(outputs["file"]))
    if outputs["segments"] is not None:
        _merge(errors, _segments_errors(outputs["segments"]))
    if outputs["images"] is not None:
        _merge(errors, _images_errors(outputs["images"], video=has_media(config)[1]))
    return errors


def _track_output_errors(config: LaunchConfig) -> Errors:
    outputs, websocket = config["outputs"], config["track"]["websocket_url"]
    errors: Errors = {}
    refused = {
        "stream": "A track egress does not stream: record a track composite instead.",
        "segments": "A track egress writes no HLS segments: record a track composite instead.",
        "images": "A track egress takes no snapshots: record a track composite instead.",
    }
    for name, message in refused.items():
        if outputs[name] is not None:
            errors[f"outputs.{name}"] = message
    file = outputs["file"]
    if file is not None and websocket:
        errors["outputs.file"] = "A track egress writes a file or a WebSocket stream, not both."
    elif file is None and not websocket:
        errors["outputs"] = "Choose a file output or a WebSocket address for the track."
    if file is not None and file["file_type"] != "DEFAULT_FILETYPE":
        errors["outputs.file.file_type"] = (
            "A track is saved in the container of its own codec: leave the file type on default."
        )
    return errors


def _path_errors(output: Mapping[str, Any], prefix: str, names: Sequence[str]) -> Errors:
    errors: Errors = {}
    for name in names:
        if message := path_template_error(output[name]):
            errors[f"{prefix}.{name}"] = message
    return errors


def _file_errors(file: Mapping[str, Any]) -> Errors:
    errors = _path_errors(file, "outputs.file", ("filepath",))
    if file["file_type"] not in FILE_TYPES:
        errors["outputs.file.file_type"] = "Choose a file type."
    return errors


def _segments_errors(segments: Mapping[str, Any]) -> Errors:
    names = ("filename_prefix", "playlist_name", "live_playlist_name")
    errors = _path_errors(segments, "outputs.segments", names)
    duration = segments["segment_duration"]
    if not _is_int(duration):
        errors["outputs.segments.segment_duration"] = WHOLE_NUMBER
    elif duration < 1:
        errors["outputs.segments.segment_duration"] = "Segments last at least 1 second."
    if segments["filename_suffix"] not in SEGMENT_SUFFIXES:
        errors["outputs.segments.filename_suffix"] = "Choose index or timestamp."
    if message := live_playlist_error(segments):
        errors.setdefault("outputs.segments.live_playlist_name", message)
    return errors


def _stem(name: str) -> str:
    # egress's removeKnownExtension drops whatever follows the last dot.
    return name.rpartition(".")[0] if "." in name else name


def split_path(path: str) -> tuple[str, str]:
    """Go's path.Split: the directory with its trailing slash, and the name."""
    cut = path.rfind("/") + 1
    return path[:cut], path[cut:]


def live_playlist_error(segments: Mapping[str, Any]) -> str | None:
    """egress's rules for the live playlist (pkg/config/output_segment.go)."""
    live_dir, live_name = split_path(clean_path(segments["live_playlist_name"]))
    if not live_name:
        return None
    playlist_dir, playlist_name = split_path(clean_path(segments["playlist_name"]))
    if live_dir and live_dir != playlist_dir:
        return "The live playlist must be in the same folder as the playlist."
    prefix_name = split_path(clean_path(segments["filename_prefix"]))[1]
    if _stem(live_name) == _stem(playlist_name or prefix_name):
        return "The live playlist needs a name of its own, not the playlist's."
    return None


def _images_errors(images: Mapping[str, Any], *, video: bool) -> Errors:
    errors = _path_errors(images, "outputs.images", ("filename_prefix",))
    if not video:
        errors["outputs.images"] = "Snapshots need video, and this recording has none."
    interval = images["capture_interval"]
    if not _is_int(interval):
        errors["outputs.images.capture_interval"] = WHOLE_NUMBER
    elif interval < 1:
        errors["outputs.images.capture_interval"] = "Take a snapshot at most once a second."
    for name in ("width", "height"):
        if not _is_int(images[name]):
            errors[f"outputs.images.{name}"] = WHOLE_NUMBER
        elif images[name] < 0:
            errors[f"outputs.images.{name}"] = "Leave it at 0 for the video's size, or more."
    if images["filename_suffix"] not in IMAGE_SUFFIXES:
        errors["outputs.images.filename_suffix"] = "Choose index, timestamp or overwrite."
    return errors


# --- codecs and containers (pkg/types/types.go CodecCompatibility) -------------------------------
def _codec_errors(config: LaunchConfig) -> Errors:
    if config["kind"] == "track":
        return {}  # egress keeps the track's codec and picks the container from it
    audio, video = has_media(config)
    outputs = config["outputs"]
    file_type = outputs["file"]["file_type"] if outputs["file"] is not None else None
    live = outputs["stream"] is not None or outputs["segments"] is not None
    advanced = config["encoding"].get("advanced") or ADVANCED
    errors: Errors = {}
    if file_type in ("OGG", "MP3") and video:
        errors["outputs.file.file_type"] = (
            f"An {file_type} file holds audio only: {_audio_only_hint(config['kind'])}"
        )
    elif file_type in ("OGG", "MP3") and live:
        errors["outputs.file.file_type"] = (
            f"An {file_type} file cannot share its audio with a live stream or HLS segments "
            "(they carry AAC): choose MP4 for the file."
        )
    if audio and (message := _audio_codec_error(advanced["audio_codec"], file_type, live)):
        errors["encoding.advanced.audio_codec"] = message
    return errors


def _audio_only_hint(kind: str) -> str:
    return {
        "participant": "a participant recording includes video, choose MP4.",
        "track_composite": "leave the video track out, or choose MP4.",
    }.get(kind, "tick audio only, or choose MP4.")


def _audio_codec_error(codec: str, file_type: str | None, live: bool) -> str | None:
    if codec == "AC_MP3":
        if file_type != "MP3":
            return "The MP3 codec goes only into an MP3 file."
        return NEEDS_AAC if live else None
    if codec in ("OPUS", "AAC") and file_type == "MP3":
        return "An MP3 file needs the MP3 codec (or the default)."
    if codec == "AAC" and file_type == "OGG":
        return "OGG files need Opus audio: choose Opus or the default."
    if codec == "OPUS" and live:
        return NEEDS_AAC
    return None


# --- stream URLs ---------------------------------------------------------------------------------
def _stream_errors(stream: Mapping[str, Any], adhoc_urls: list[str]) -> Errors:
    ids, shown = stream["destination_ids"], stream["adhoc"]
    if not ids and not shown and not adhoc_urls:
        return {"outputs.stream": "Choose a destination or enter a stream URL."}
    errors: Errors = {}
    families = set()
    if not all(_is_int(pk) for pk in ids):
        errors["outputs.stream.destination_ids"] = "Choose destinations from the list."
    elif ids:
        found = dict(StreamDestination.objects.filter(pk__in=ids).values_list("pk", "protocol"))
        if len(found) < len(set(ids)):
            errors["outputs.stream.destination_ids"] = "A chosen destination no longer exists."
        families |= {STREAM_FAMILIES.get(protocol, protocol) for protocol in found.values()}
    # The display list can only name URLs the caller still has (the dashboard keeps none).
    if shown and len(adhoc_urls) != len(shown):
        errors["outputs.stream.adhoc"] = (
            "Enter the ad-hoc stream URLs again: the dashboard does not keep them."
        )
    for index, url in enumerate(adhoc_urls):
        if message := adhoc_url_error(url):
            errors[f"outputs.stream.adhoc.{index}"] = message
        else:
            families.add(STREAM_FAMILIES[destinations.protocol_of(_lower_scheme(url))])
    if len(families) > 1:
        errors["outputs.stream"] = "One stream output carries RTMP or SRT URLs, not both."
    return errors


def _lower_scheme(url: str) -> str:
    scheme, sep, rest = url.strip().partition("://")
    return f"{scheme.lower()}{sep}{rest}"


def _split_stream_url(url: str) -> tuple[str, str]:
    """A whole RTMP URL as the server URL and the stream key a destination would store."""
    url = _lower_scheme(url)
    scheme, _, rest = url.partition("://")
    if scheme in ("rtmp", "rtmps") and "/" in rest:
        server_url, _, key = url.rpartition("/")
        return server_url, key
    return url, ""


def adhoc_url_error(url: str) -> str | None:
    """What LiveKit would say of a whole stream URL typed once (destinations' rules)."""
    errors = destinations.validate(*_split_stream_url(url))
    if not errors:
        return None
    message = next(iter(errors.values()))
    scheme = _lower_scheme(url).partition("://")[0]
    if message in (destinations.RTMP_SHAPE, destinations.REQUIRED_KEY):
        return ADHOC_SHORTHAND if scheme in destinations.SHORTHANDS else ADHOC_RTMP
    return message


# --- storage -------------------------------------------------------------------------------------
def _storage_errors(config: LaunchConfig) -> Errors:
    if not storage_needed(config):
        return {}
    profile_id = config["storage_profile_id"]
    if profile_id is None:
        if config["server_storage"]:
            return {}
        return {
            "storage_profile_id": (
                "Choose a storage profile for the recording, or LiveKit's own storage."
            )
        }
    if not _is_int(profile_id):
        return {"storage_profile_id": "Choose a storage profile from the list."}
    if not StorageProfile.objects.filter(pk=profile_id).exists():
        return {"storage_profile_id": "The chosen storage profile no longer exists."}
    return {}
