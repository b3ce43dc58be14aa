"""The file name egress will write, previewed from a launch configuration.

Follows livekit/egress pkg/config/output_file.go (`clean`, `updateFilepath`, `getFilenameInfo`)
and pkg/pipeline/source/sdk.go (the placeholders SDK sources add once the tracks are known):
the path is cleaned, its placeholders replaced, an empty path or a folder gets
`<identifier>-<time><ext>`, and a missing or wrong extension is fixed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from egress_app.launch.config import (
    GivenConfig,
    LaunchConfig,
    TrackCompositeSection,
    TrackSection,
)
from egress_app.launch.normalize import has_media, normalize_launch_config
from egress_app.launch.paths import clean_path

# egress's known extensions (pkg/types FileExtensions): only these are replaced, others kept.
KNOWN_EXTENSIONS = {".raw", ".ogg", ".ivf", ".mp4", ".ts", ".webm", ".m3u8", ".jpeg", ".mp3"}
FILE_TYPE_EXTENSIONS = {"MP4": ".mp4", "OGG": ".ogg", "MP3": ".mp3"}
# Track egress keeps the track's codec; the container follows it (pkg/types TrackOutputTypes).
TRACK_EXTENSIONS = {
    "audio/opus": ".ogg",
    "audio/pcmu": ".ogg",
    "audio/pcma": ".ogg",
    "video/h264": ".mp4",
    "video/vp8": ".webm",
    "video/vp9": ".webm",
}
# Browsers publish Opus audio and, by default, VP8 video.
TRACK_KIND_EXTENSIONS = {"audio": ".ogg", "video": ".webm"}
# The room's id is only known once LiveKit has it; the preview shows its shape.
ROOM_ID = "RM_…"
# Shown for what the configuration cannot know (the form passes it when it does).
UNKNOWN = {
    "{publisher_identity}": "publisher",
    "{track_type}": "track",
    "{track_source}": "unknown",
}


def preview_filename(template: str, config: GivenConfig, *, now: datetime | None = None) -> str:
    """The file path egress would write for `template` (a file output's filepath)."""
    config = normalize_launch_config(config)
    when = _utc(now or datetime.now(UTC))
    names = replacements(config, when)
    return resolve_path(template, file_extension(config), identifier(config), names)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def replacements(config: LaunchConfig, now: datetime) -> dict[str, str]:
    """Placeholder -> value, for those egress fills for this kind of egress."""
    values = {
        "{time}": now.strftime("%Y-%m-%dT%H%M%S"),
        "{utc}": now.strftime("%Y%m%d%H%M%S") + f"{now.microsecond // 1000:03d}",
        # Filled with the retry count on LiveKit Cloud's automatic retries; a first attempt
        # has none, and the dashboard never retries by itself.
        "{retry}": "",
    }
    kind = config["kind"]
    if kind == "web":
        return values  # not room-bound: egress leaves the room placeholders as written
    values |= {"{room_name}": config["room_name"], "{room_id}": ROOM_ID}
    if kind == "participant":
        values["{publisher_identity}"] = config["participant"]["identity"]
    elif kind == "track_composite":
        values["{publisher_identity}"] = _publisher(config["track_composite"])
    elif kind == "track":
        track = config["track"]
        values |= {
            "{track_id}": track["track_id"],
            "{track_type}": track["track_kind"] or UNKNOWN["{track_type}"],
            "{track_source}": track["track_source"].lower() or UNKNOWN["{track_source}"],
            "{publisher_identity}": _publisher(track),
        }
    return values


def _publisher(section: TrackCompositeSection | TrackSection) -> str:
    return section["publisher_identity"] or UNKNOWN["{publisher_identity}"]


def identifier(config: LaunchConfig) -> str:
    """The stem egress names a file after when the path gives none."""
    kind = config["kind"]
    if kind == "web":
        return "web"
    if kind == "participant":
        return str(config["participant"]["identity"])
    if kind == "track":
        return str(config["track"]["track_id"])
    return str(config["room_name"])


def file_extension(config: LaunchConfig) -> str:
    """The extension of the file output, as egress picks the container."""
    if config["kind"] == "track":
        section = config["track"]
        mime = section["mime_type"].lower()
        return TRACK_EXTENSIONS.get(mime) or TRACK_KIND_EXTENSIONS.get(section["track_kind"], "")
    outputs = config["outputs"]
    file_type = outputs["file"]["file_type"] if outputs["file"] is not None else ""
    if file_type in FILE_TYPE_EXTENSIONS:
        return FILE_TYPE_EXTENSIONS[file_type]
    if has_media(config)[1]:
        return ".mp4"
    # Audio only: egress prefers OGG unless another output (or the codec) needs AAC.
    advanced = config["encoding"].get("advanced")
    codec = advanced["audio_codec"] if advanced else "DEFAULT_AC"
    live = outputs["stream"] is not None or outputs["segments"] is not None
    return ".ogg" if codec in ("DEFAULT_AC", "OPUS") and not live else ".mp4"


def resolve_path(template: str, extension: str, stem: str, values: dict[str, str]) -> str:
    """egress's updateFilepath: clean, replace, default the name, fix the extension."""
    path = clean_path(template)
    for placeholder, value in values.items():
        path = path.replace(placeholder, value)
    if not path or path.endswith("/"):
        return f"{path}{stem}-{values['{time}']}{extension}"
    if extension and not path.endswith(extension):
        head, dot, tail = path.rpartition(".")
        if dot and f".{tail}" in KNOWN_EXTENSIONS:
            path = head
        path += extension
    return path
