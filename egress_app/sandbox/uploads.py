"""What an egress leaves in a reachable store when it ends: real, playable objects.

For each file, segments and images output whose store `stores.store_for` says is reachable, the
sandbox uploads what egress's sinks would (E:pkg/pipeline/sink/file.go, segments.go, image.go):
the file at its filename; the `.ts` segments beside the playlist, then the playlist and the live
playlist (E:pkg/pipeline/sink/m3u8/writer.go's format); a JPEG per capture. The results then
carry the real numbers, as egress reports them: a file's size in bytes, the segments' summed size
(playlists not counted) and their count, the images' count. Media come from `media` (short
clips, made once); outputs to other stores keep the simulated estimates.

Runs in a worker thread: every call here blocks on the network.
"""

from __future__ import annotations

import asyncio
import json
import math
import posixpath
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath

from livekit.protocol import egress

from egress_app.sandbox import media, outputs
from egress_app.sandbox.config import StorageEndpoints
from egress_app.sandbox.ids import now_ns
from egress_app.sandbox.plan import ImageSpec, Plan, SegmentSpec
from egress_app.sandbox.stores import NAMES, Store, UploadFailed, store_for

CONTENT_TYPES = {"mp4": "video/mp4", "ogg": "audio/ogg", "mp3": "audio/mpeg", "webm": "video/webm"}
TS, HLS, JPEG = "video/mp2t", "application/x-mpegurl", "image/jpeg"
SEGMENT_COUNT = 2  # segments actually written, however long the egress ran
MAX_IMAGES = 3  # images actually written at most, one per capture interval
LIVE_WINDOW = 5  # E:pkg/pipeline/sink/segments.go defaultLivePlaylistWindow
SEGMENT_SUFFIX_TIMESTAMP = egress.SegmentedFileSuffix.TIMESTAMP
IMAGE_SUFFIX_TIMESTAMP = egress.ImageFileSuffix.IMAGE_SUFFIX_TIMESTAMP
IMAGE_SUFFIX_NONE = egress.ImageFileSuffix.IMAGE_SUFFIX_NONE_OVERWRITE


class OutputFailed(Exception):
    """egress's ErrUploadFailed: `<S3|GCP|Azure|AliOSS> upload failed: <provider's error>`.

    `done` holds what was written before, and zeros for the outputs that were not."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.done = Uploaded()


@dataclass
class Uploaded:
    """The real numbers of the outputs written, by output index, laid over the estimates."""

    files: dict[int, tuple[int, str]] = field(default_factory=dict)  # size, location
    segments: dict[int, tuple[int, int]] = field(default_factory=dict)  # size, segment count
    images: dict[int, int] = field(default_factory=dict)  # image count

    def reachable(self) -> bool:
        return bool(self.files or self.segments or self.images)

    def apply(self, info: egress.EgressInfo) -> None:
        for index, (size, location) in self.files.items():
            info.file_results[index].size, info.file_results[index].location = size, location
        for index, (size, count) in self.segments.items():
            segments = info.segment_results[index]
            segments.size, segments.segment_count = size, count
        for index, count in self.images.items():
            info.image_results[index].image_count = count


async def write_outputs(
    plan: Plan,
    info: egress.EgressInfo,
    names: outputs.Naming,
    endpoints: StorageEndpoints,
    active_at: int,
) -> tuple[Uploaded, str]:
    """`upload_outputs` in a worker thread: what was written, and egress's error ("" if none)."""
    if not _empty(plan, info, endpoints).reachable():
        return Uploaded(), ""  # all simulated: no thread, no network
    started = datetime.fromtimestamp(active_at / outputs.NS, UTC)
    seconds = (now_ns() - active_at) / outputs.NS
    try:
        done = await asyncio.to_thread(
            upload_outputs, plan, info, names, endpoints, started, seconds
        )
    except OutputFailed as exc:
        return exc.done, str(exc)
    except Exception as exc:  # an SDK's surprise must end the egress, never leave it ENDING
        return _empty(plan, info, endpoints), f"upload failed: {exc}"
    return done, ""


def _put(store: Store, key: str, data: bytes, content_type: str) -> None:
    try:
        store.put(key, data, content_type)
    except UploadFailed as exc:
        raise OutputFailed(f"{store.name} upload failed: {exc}") from exc


def upload_outputs(
    plan: Plan,
    info: egress.EgressInfo,
    names: outputs.Naming,
    endpoints: StorageEndpoints,
    started: datetime,
    seconds: float,
) -> Uploaded:
    """Write every output bound for a reachable store; raises OutputFailed at the first error.

    Each such output counts as empty (size 0, no segments or images) until written, as egress
    reports an output whose upload failed."""
    done = _empty(plan, info, endpoints)
    try:
        for index, (file_spec, result) in enumerate(
            zip(plan.files, info.file_results, strict=True)
        ):
            store = store_for(file_spec.storage, endpoints)
            if store is not None:
                done.files[index] = _upload_file(store, plan, result, file_spec.storage)
        _upload_manifest(plan, info, endpoints)
        for index, spec in enumerate(plan.segments):
            store = store_for(spec.storage, endpoints)
            if store is not None:
                segments = info.segment_results[index]
                done.segments[index] = _upload_segments(store, plan, spec, segments, names, started)
        for index, image_spec in enumerate(plan.images):
            store = store_for(image_spec.storage, endpoints)
            if store is not None:
                prefix = info.image_results[index].filename_prefix
                count = min(MAX_IMAGES, max(1, math.ceil(seconds / image_spec.capture_interval)))
                done.images[index] = _upload_images(
                    store, image_spec, prefix, names, started, count
                )
    except media.MediaUnavailable as exc:
        failure = OutputFailed(f"upload failed: {exc}")
        failure.done = done
        raise failure from exc
    except OutputFailed as exc:
        exc.done = done
        raise
    return done


def _empty(plan: Plan, info: egress.EgressInfo, endpoints: StorageEndpoints) -> Uploaded:
    empty = Uploaded()
    for index, file_spec in enumerate(plan.files):
        if store_for(file_spec.storage, endpoints) is not None:
            empty.files[index] = (0, info.file_results[index].location)
    for index, spec in enumerate(plan.segments):
        if store_for(spec.storage, endpoints) is not None:
            empty.segments[index] = (0, 0)
    for index, image_spec in enumerate(plan.images):
        if store_for(image_spec.storage, endpoints) is not None:
            empty.images[index] = 0
    return empty


def _upload_file(
    store: Store, plan: Plan, result: egress.FileInfo, storage: egress.StorageConfig | None
) -> tuple[int, str]:
    extension = PurePosixPath(result.filename).suffix
    kind = media.file_kind(extension, video=plan.video, audio=plan.audio, track=plan.is_track)
    data = media.file_bytes(kind)
    _put(store, result.filename, data, CONTENT_TYPES[kind.container])
    return len(data), outputs.location(storage, result.filename)


def _upload_manifest(plan: Plan, info: egress.EgressInfo, endpoints: StorageEndpoints) -> None:
    """The manifest beside the first file, as egress writes it (E:pkg/config/manifest.go;
    E:pkg/pipeline/sink/file.go `UploadManifest`): the egress and the files written."""
    first = next((i for i, spec in enumerate(plan.files) if not spec.disable_manifest), None)
    if first is None or not info.manifest_location:
        return
    store = store_for(plan.files[first].storage, endpoints)
    if store is None:
        return
    manifest = {
        "egress_id": info.egress_id,
        "room_id": info.room_id,
        "room_name": info.room_name,
        "started_at": info.started_at,
        "ended_at": now_ns(),
        "files": [
            {"filename": result.filename, "location": result.location}
            for spec, result in zip(plan.files, info.file_results, strict=True)
            if store_for(spec.storage, endpoints) is not None
        ],
    }
    body = json.dumps({key: value for key, value in manifest.items() if value}, indent=2)
    key = outputs.manifest_key(info.file_results[first].filename)
    _put(store, key, body.encode(), "application/json")


def segment_names(
    spec: SegmentSpec, playlist_name: str, names: outputs.Naming, started: datetime
) -> list[str]:
    """The segments' names relative to the playlist's folder (E:pkg/config/output_segment.go:
    the prefix's folder is kept only when it is not the playlist's own; E:pkg/pipeline/builder/
    segment.go: `<prefix>_%05d.ts`, or `<prefix>_<YYYYMMDDhhmmss><ms>.ts` with TIMESTAMP)."""
    playlist_dir, playlist_file = posixpath.split(playlist_name)
    segment_dir, prefix = posixpath.split(outputs.expand(spec.filename_prefix, names))
    if segment_dir == playlist_dir:
        segment_dir = ""
    prefix = posixpath.join(segment_dir, prefix or PurePosixPath(playlist_file).stem)
    found = []
    for index in range(SEGMENT_COUNT):
        if spec.filename_suffix == SEGMENT_SUFFIX_TIMESTAMP:
            at = started + timedelta(seconds=index * media.SEGMENT_SECONDS)
            found.append(f"{prefix}_{at:%Y%m%d%H%M%S}{at.microsecond // 1000:03d}.ts")
        else:
            found.append(f"{prefix}_{index:05d}.ts")
    return found


def playlist_text(
    segments: list[str], target: int, started: datetime, *, live: bool = False
) -> str:
    """An HLS playlist as egress's m3u8 writer leaves it once closed (EVENT, or live with its
    sliding window)."""
    header = ["#EXTM3U", "#EXT-X-VERSION:4"]
    if not live:
        header.append("#EXT-X-PLAYLIST-TYPE:EVENT")
    window = segments[-LIVE_WINDOW:] if live else segments
    first = len(segments) - len(window)
    lines = [*header, "#EXT-X-ALLOW-CACHE:NO", f"#EXT-X-TARGETDURATION:{target}"]
    lines.append(f"#EXT-X-MEDIA-SEQUENCE:{first}")
    for index, name in enumerate(window, start=first):
        at = started + timedelta(seconds=index * media.SEGMENT_SECONDS)
        lines += [
            f"#EXT-X-PROGRAM-DATE-TIME:{_go_time(at)}",
            f"#EXTINF:{media.SEGMENT_SECONDS:.3f},",
            name,
        ]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def _go_time(at: datetime) -> str:
    """Go's "2006-01-02T15:04:05.999Z07:00" in UTC: milliseconds without trailing zeros."""
    at = at.astimezone(UTC)
    fraction = f"{at.microsecond // 1000:03d}".rstrip("0")
    return at.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def _upload_segments(
    store: Store,
    plan: Plan,
    spec: SegmentSpec,
    result: egress.SegmentsInfo,
    names: outputs.Naming,
    started: datetime,
) -> tuple[int, int]:
    folder = posixpath.dirname(result.playlist_name)
    segments = segment_names(spec, result.playlist_name, names, started)
    size = 0
    for index, name in enumerate(segments):
        data = media.segment_bytes(plan.video, plan.audio, index)
        _put(store, posixpath.join(folder, name), data, TS)
        size += len(data)
    target = max(spec.segment_duration, 1)
    playlist = playlist_text(segments, target, started)
    _put(store, result.playlist_name, playlist.encode(), HLS)
    if result.live_playlist_name:
        live = playlist_text(segments, target, started, live=True)
        _put(store, result.live_playlist_name, live.encode(), HLS)
    return size, len(segments)


def image_keys(
    spec: ImageSpec, prefix: str, names: outputs.Naming, started: datetime, count: int
) -> list[str]:
    """E:pkg/pipeline/builder/image.go `<prefix>_%05d.jpeg` and sink/image.go's other suffixes."""
    folder, stem = posixpath.split(prefix)
    stem = stem or f"{names.identifier}-{names.replacements['{time}']}"
    if spec.filename_suffix == IMAGE_SUFFIX_NONE:
        return [posixpath.join(folder, f"{stem}.jpeg")]
    keys = []
    for index in range(count):
        if spec.filename_suffix == IMAGE_SUFFIX_TIMESTAMP:
            at = started + timedelta(seconds=index * spec.capture_interval)
            name = f"{stem}_{at:%Y%m%d%H%M%S}{at.microsecond // 1000:03d}.jpeg"
        else:
            name = f"{stem}_{index:05d}.jpeg"
        keys.append(posixpath.join(folder, name))
    return keys


def _upload_images(
    store: Store,
    spec: ImageSpec,
    prefix: str,
    names: outputs.Naming,
    started: datetime,
    count: int,
) -> int:
    keys = image_keys(spec, prefix, names, started, count)
    for index, key in enumerate(keys):
        _put(store, key, media.jpeg_bytes(index), JPEG)
    return len(keys)


# --- stores the sandbox cannot reach: a `fail-` bucket or container fails like a refusal ---------
SIMULATED_ERRORS = {
    "s3": "operation error S3: PutObject, https response error StatusCode: 403, "
    "api error AccessDenied: Access Denied",
    "gcp": "googleapi: Error 403: sandbox@example.iam.gserviceaccount.com does not have "
    "storage.objects.create access to the Google Cloud Storage object., forbidden",
    "azure": "RESPONSE 403: 403 This request is not authorized to perform this operation.\n"
    "ERROR CODE: AuthorizationFailure",
    "aliOSS": "oss: service returned error: StatusCode=403, ErrorCode=AccessDenied, "
    'ErrorMessage="You have no right to access this object."',
}


def simulated_failure(plan: Plan, endpoints: StorageEndpoints) -> str:
    """egress's error for the first simulated output whose bucket starts with `fail-` ("" if
    none): stores the sandbox really writes to fail, or not, on their own."""
    storages: list[egress.StorageConfig | None] = [
        *(spec.storage for spec in plan.files),
        *(spec.storage for spec in plan.segments),
        *(spec.storage for spec in plan.images),
    ]
    for storage in storages:
        if storage is None or store_for(storage, endpoints) is not None:
            continue
        if outputs.storage_bucket(storage).startswith("fail-"):
            provider = storage.WhichOneof("provider") or "s3"
            return f"{NAMES[provider]} upload failed: {SIMULATED_ERRORS[provider]}"
    return ""
