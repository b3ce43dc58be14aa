"""Output names, upload locations and results, after livekit/egress pkg/config/output_*.go."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast
from urllib.parse import urlsplit

from livekit.protocol import egress, models

from egress_app.sandbox.paths import clean
from egress_app.sandbox.plan import FileSpec, ImageSpec, Plan, SegmentSpec

KNOWN_EXTENSIONS = {".mp4", ".ogg", ".mp3", ".webm", ".m3u8", ".ts", ".jpeg", ".json", ".txt"}
FILE_TYPE_EXTENSIONS: dict[int, str] = {
    egress.EncodedFileType.MP4: ".mp4",
    egress.EncodedFileType.OGG: ".ogg",
    egress.EncodedFileType.MP3: ".mp3",
}
TRACK_EXTENSIONS = {
    "audio/opus": ".ogg",
    "video/VP8": ".webm",
    "video/VP9": ".webm",
    "video/H264": ".mp4",
    "audio/PCMU": ".ogg",
    "audio/PCMA": ".ogg",
}
NS = 1_000_000_000


@dataclass(frozen=True)
class Naming:
    """Everything a filepath template can refer to, fixed when the egress starts."""

    identifier: str
    replacements: dict[str, str]
    track_extension: str = ""


def naming(
    plan: Plan,
    info: egress.EgressInfo,
    now: datetime,
    publisher: models.ParticipantInfo | None = None,
    track: models.TrackInfo | None = None,
) -> Naming:
    now = now.astimezone(UTC)
    replacements = {
        "{time}": now.strftime("%Y-%m-%dT%H%M%S"),
        "{utc}": now.strftime("%Y%m%d%H%M%S") + f"{now.microsecond // 1000:03d}",
    }
    if plan.room_name:
        replacements |= {"{room_name}": plan.room_name, "{room_id}": info.room_id}
    if publisher is not None:
        replacements["{publisher_identity}"] = publisher.identity
    elif plan.identity:
        replacements["{publisher_identity}"] = plan.identity
    extension = ""
    if track is not None:
        replacements |= {
            "{track_id}": track.sid,
            "{track_type}": "video" if track.type == models.TrackType.VIDEO else "audio",
            "{track_source}": models.TrackSource.Name(track.source).lower(),
        }
        extension = TRACK_EXTENSIONS.get(track.mime_type, ".ogg")
    return Naming(plan.identifier, replacements, extension)


def _replace(template: str, replacements: dict[str, str]) -> str:
    for key, value in replacements.items():
        template = template.replace(key, value)
    return template


def expand(template: str, names: Naming) -> str:
    """A cleaned template with its {placeholders} replaced (no extension added)."""
    return _replace(clean(template), names.replacements)


def resolve_path(template: str, extension: str, names: Naming) -> str:
    path = _replace(clean(template), names.replacements)
    if not path or path.endswith("/"):
        return f"{path}{names.identifier}-{names.replacements['{time}']}{extension}"
    if not path.endswith(extension):
        stem, dot, existing = path.rpartition(".")
        if dot and f".{existing}" in KNOWN_EXTENSIONS:
            path = stem
        path += extension
    return path


def file_extension(spec: FileSpec, plan: Plan, names: Naming) -> str:
    if spec.file_type in FILE_TYPE_EXTENSIONS:
        return FILE_TYPE_EXTENSIONS[spec.file_type]
    if plan.is_track and names.track_extension:
        return names.track_extension
    return ".mp4" if plan.video else ".ogg"


def storage_bucket(storage: egress.StorageConfig | None) -> str:
    if storage is None:
        return ""
    provider = storage.WhichOneof("provider")
    if provider == "azure":
        return storage.azure.container_name
    if provider in ("s3", "gcp", "aliOSS"):
        return str(getattr(storage, provider).bucket)
    return ""


def location(storage: egress.StorageConfig | None, key: str) -> str:
    provider = storage.WhichOneof("provider") if storage is not None else None
    if storage is None or provider is None:
        return key
    if provider == "s3":
        s3 = storage.s3
        if s3.endpoint:
            return f"{s3.endpoint.rstrip('/')}/{s3.bucket}/{key}"
        region = s3.region or "us-east-1"
        if s3.force_path_style:
            return f"https://s3.{region}.amazonaws.com/{s3.bucket}/{key}"
        return f"https://{s3.bucket}.s3.{region}.amazonaws.com/{key}"
    if provider == "gcp":
        return f"https://storage.googleapis.com/{storage.gcp.bucket}/{key}"
    if provider == "azure":
        azure = storage.azure
        return f"https://{azure.account_name}.blob.core.windows.net/{azure.container_name}/{key}"
    endpoint = urlsplit(storage.aliOSS.endpoint).netloc or storage.aliOSS.endpoint
    return f"https://{storage.aliOSS.bucket}.{endpoint}/{key}"


def new_file_info(spec: FileSpec, plan: Plan, names: Naming) -> egress.FileInfo:
    filename = resolve_path(spec.filepath, file_extension(spec, plan, names), names)
    return egress.FileInfo(filename=filename, location=location(spec.storage, filename))


def new_segments_info(spec: SegmentSpec, names: Naming) -> egress.SegmentsInfo:
    default = spec.filename_prefix or f"{names.identifier}-{names.replacements['{time}']}"
    playlist = resolve_path(spec.playlist_name or default, ".m3u8", names)
    info = egress.SegmentsInfo(
        playlist_name=playlist, playlist_location=location(spec.storage, playlist)
    )
    if spec.live_playlist_name:
        live = resolve_path(spec.live_playlist_name, ".m3u8", names)
        info.live_playlist_name = live
        info.live_playlist_location = location(spec.storage, live)
    return info


def new_images_info(spec: ImageSpec, names: Naming) -> egress.ImagesInfo:
    prefix = _replace(clean(spec.filename_prefix), names.replacements) or names.identifier
    return egress.ImagesInfo(filename_prefix=prefix)


def bytes_for(kbps: int, duration_ns: int) -> int:
    return max(1, kbps * 1000 // 8 * duration_ns // NS)


def plan_kbps(plan: Plan) -> int:
    return (plan.video_kbps if plan.video else 0) + (plan.audio_kbps if plan.audio else 0)


def finish_file(info: egress.FileInfo, kbps: int, started: int, ended: int) -> None:
    info.started_at, info.ended_at = started, ended
    info.duration = max(ended - started, 0)
    info.size = bytes_for(kbps, info.duration)


def finish_segments(
    info: egress.SegmentsInfo, spec: SegmentSpec, kbps: int, started: int, ended: int
) -> None:
    info.started_at, info.ended_at = started, ended
    info.duration = max(ended - started, 0)
    info.size = bytes_for(kbps, info.duration)
    info.segment_count = max(1, math.ceil(info.duration / (spec.segment_duration * NS)))


def finish_images(info: egress.ImagesInfo, spec: ImageSpec, started: int, ended: int) -> None:
    info.started_at, info.ended_at = started, ended
    info.image_count = max(1, math.ceil(max(ended - started, 0) / (spec.capture_interval * NS)))


def finish_stream(info: egress.StreamInfo, ended: int, status: int, error: str = "") -> None:
    if info.status != egress.StreamInfo.Status.ACTIVE:
        return
    info.status = cast(egress.StreamInfo.Status, status)
    info.ended_at = ended
    info.duration = max(ended - info.started_at, 0) if info.started_at else 0
    if error:
        info.error = error


def manifest_key(filename: str) -> str:
    stem, dot, _ = filename.rpartition(".")
    return f"{stem if dot else filename}.json"
