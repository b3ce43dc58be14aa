"""LiveKit's rules for how a launch is encoded: a preset or advanced settings, and the codecs
its outputs can carry (livekit/egress pkg/config/encoding.go, pkg/types/types.go)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from egress_app.launch.config import (
    ADVANCED,
    AUDIO_CODECS,
    PRESETS,
    VIDEO_CODECS,
    WHOLE_NUMBER,
    Advanced,
    Errors,
    LaunchConfig,
    is_int,
)
from egress_app.launch.normalize import has_media

# The advanced settings that are whole numbers, each with a rule of its own.
_WholeSetting = Literal[
    "width", "height", "depth", "framerate", "audio_bitrate", "video_bitrate", "audio_frequency"
]

NEEDS_AAC = "Live streams and HLS segments carry AAC audio: choose AAC or the default."
VP8 = (
    "LiveKit Egress does not encode VP8 (it ignores the choice and records H.264): "
    "choose an H.264 profile."
)


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


def _advanced_errors(advanced: Advanced) -> Errors:
    errors: Errors = {}
    checks: dict[_WholeSetting, Callable[[Any], str | None]] = {
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
        if not is_int(value):
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


def _dimension_error(value: int, label: str) -> str | None:
    if value == 0 or (value >= 16 and value % 2 == 0):
        return None
    return f"{label} must be even and at least 16."


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
