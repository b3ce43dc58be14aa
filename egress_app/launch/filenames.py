"""The names egress will write, previewed from a launch configuration: one source of truth for
the launch form's preview and for the file path the request sends (`file_template`).

Follows livekit/egress pkg/config/output_file.go (`clean`, `updateFilepath`, `getFilenameInfo`)
and pkg/pipeline/source/sdk.go (the placeholders SDK sources add once the tracks are known):
the path is cleaned, its placeholders replaced, an empty path or a folder gets
`<identifier>-<time><ext>`, and a missing or wrong extension is fixed. HLS follows
pkg/config/output_segment.go (`updatePrefixAndPlaylist`) and the segment sink's
`<prefix>_00000.ts` / `<prefix>_<utc>.ts`; images pkg/config/output_image.go (`updatePrefix`)
and the image sink's `<prefix>_00000.jpeg`, `<prefix>_<utc>.jpeg` or `<prefix>.jpeg`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from egress_app.launch.config import (
    FileOutput,
    GivenConfig,
    ImagesOutput,
    LaunchConfig,
    SegmentsOutput,
    TrackCompositeSection,
    TrackSection,
)
from egress_app.launch.normalize import has_media, normalize_launch_config, storage_needed
from egress_app.launch.paths import clean_path, split_path, without_extension

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
# Shown for what the form has not chosen yet (never sent: LiveKit refuses an empty room).
ROOM, PARTICIPANT, TRACK = "<room>", "<participant>", "<track>"
# Shown for what the configuration cannot know (the form passes it when it does).
UNKNOWN = {
    "{publisher_identity}": "publisher",
    "{track_type}": "track",
    "{track_source}": "unknown",
}


@dataclass(frozen=True)
class WrittenName:
    """One name egress will write: what it is ("File", "Playlist", …) and its path."""

    label: str
    path: str


def file_template(file: FileOutput, profile_template: str) -> str:
    """The filepath the request sends: the one typed, else the storage profile's default."""
    return str(file["filepath"] or profile_template)


def profile_template(config: LaunchConfig, templates: dict[int, str]) -> str:
    """The path template of the profile the uploads go through ("" for LiveKit's own storage
    or when nothing uploads), from the profiles' templates by id."""
    wanted = config["storage_profile_id"]
    if wanted is None or not storage_needed(config):
        return ""
    return templates.get(wanted, "")


def written_names(
    given: GivenConfig, *, templates: dict[int, str] | None = None, now: datetime | None = None
) -> list[WrittenName]:
    """Every name egress will write for the configuration, output by output (streams and a
    track's websocket write none). `templates` maps storage profile ids to path templates."""
    config = normalize_launch_config(given)
    when = _utc(now or datetime.now(UTC))
    values, stem = replacements(config, when), identifier(config)
    outputs = config["outputs"]
    names: list[WrittenName] = []
    if (file := outputs["file"]) is not None:
        template = file_template(file, profile_template(config, templates or {}))
        path = resolve_path(template, file_extension(config), stem, values)
        names.append(WrittenName("File", path))
    if (segments := outputs["segments"]) is not None:
        names += segment_names(segments, stem, values)
    if (images := outputs["images"]) is not None:
        names.append(WrittenName("Images", image_name(images, stem, values)))
    return names


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
    values |= {"{room_name}": config["room_name"] or ROOM, "{room_id}": ROOM_ID}
    if kind == "participant":
        values["{publisher_identity}"] = config["participant"]["identity"] or PARTICIPANT
    elif kind == "track_composite":
        values["{publisher_identity}"] = _publisher(config["track_composite"])
    elif kind == "track":
        track = config["track"]
        values |= {
            "{track_id}": track["track_id"] or TRACK,
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
        return str(config["participant"]["identity"] or PARTICIPANT)
    if kind == "track":
        return str(config["track"]["track_id"] or TRACK)
    return str(config["room_name"] or ROOM)


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
    path = _filled(template, values)
    if not path or path.endswith("/"):
        return f"{path}{stem}-{values['{time}']}{extension}"
    if extension and not path.endswith(extension):
        head, dot, tail = path.rpartition(".")
        if dot and f".{tail}" in KNOWN_EXTENSIONS:
            path = head
        path += extension
    return path


def _filled(path: str, values: dict[str, str]) -> str:
    path = clean_path(path)
    for placeholder, value in values.items():
        path = path.replace(placeholder, value)
    return path


def segment_names(segments: SegmentsOutput, stem: str, values: dict[str, str]) -> list[WrittenName]:
    """The playlist, the live playlist (when asked) and the first segment egress writes."""
    playlist_dir, playlist = split_path(_filled(segments["playlist_name"], values))
    _, live = split_path(_filled(segments["live_playlist_name"], values))
    segment_dir, prefix = split_path(_filled(segments["filename_prefix"], values))
    playlist, live = without_extension(playlist), without_extension(live)
    if segment_dir and playlist_dir == segment_dir:
        segment_dir = ""
    elif segment_dir and not playlist_dir:
        playlist_dir, segment_dir = segment_dir, ""
    playlist = playlist or prefix or f"{stem}-{values['{time}']}"
    # A TIMESTAMP suffix is the segment's time as `{utc}` writes it.
    suffix = values["{utc}"] if segments["filename_suffix"] == "TIMESTAMP" else "00000"
    names = [WrittenName("Playlist", f"{playlist_dir}{playlist}.m3u8")]
    if live:
        names.append(WrittenName("Live playlist", f"{playlist_dir}{live}.m3u8"))
    first = f"{playlist_dir}{segment_dir}{prefix or playlist}_{suffix}.ts"
    return [*names, WrittenName("Segments", first)]


def image_name(images: ImagesOutput, stem: str, values: dict[str, str]) -> str:
    """The first image egress writes."""
    folder, prefix = split_path(_filled(images["filename_prefix"], values))
    prefix = f"{folder}{prefix or f'{stem}-{values["{time}"]}'}"
    suffix = images["filename_suffix"]
    if suffix == "IMAGE_SUFFIX_NONE_OVERWRITE":
        return f"{prefix}.jpeg"
    return f"{prefix}_{values['{utc}'] if suffix == 'IMAGE_SUFFIX_TIMESTAMP' else '00000'}.jpeg"
