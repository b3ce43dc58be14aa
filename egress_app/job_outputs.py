"""What a finished job made, as objects in its storage profile's store: its files, HLS
playlists and image series, the store to reach them through (`egress_app.storage.objects`),
and, when the dashboard cannot reach them, why in plain words.

LiveKit reports each output by its storage path (`FileInfo.filename`, `SegmentsInfo.
playlist_name`, `ImagesInfo.filename_prefix`: livekit/protocol livekit_egress.proto), the key
the dashboard signs; `location` is only the URL it was uploaded to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from egress_app.crypto import SecretKeyError
from egress_app.models import EgressJob
from egress_app.storage.objects import Store

VIDEO = {".mp4", ".webm", ".mov", ".m4v", ".ts"}
AUDIO = {".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".wav", ".flac"}
IMAGES = {".jpeg", ".jpg", ".png"}
IMAGES_SHOWN = 12  # thumbnails in an image output's strip


@dataclass(frozen=True)
class Output:
    """One output of a job: `kind` "file", "segments" or "images", its place `n` among the
    outputs of that kind, and its key (a file's, a playlist's, or the images' prefix)."""

    kind: str
    n: int
    key: str
    reported_size: int = 0

    @property
    def name(self) -> str:
        return PurePosixPath(self.key).name or self.key

    @property
    def media(self) -> str:
        """How the page shows it: "video", "audio", "hls", "images", or "" (download only)."""
        if self.kind != "file":
            return {"segments": "hls", "images": "images"}[self.kind]
        suffix = PurePosixPath(self.key).suffix.lower()
        return "video" if suffix in VIDEO else "audio" if suffix in AUDIO else ""


class NoStore(Exception):
    """Why the dashboard cannot reach a job's outputs, in words for the page."""


def outputs(job: EgressJob) -> list[Output]:
    """The job's file, HLS and image outputs LiveKit reported, each with a key to look up."""
    results = job.results or {}
    found = [
        Output("file", n, _key(file.get("filename")), int(file.get("size") or 0))
        for n, file in enumerate(results.get("files") or [])
    ]
    for n, segments in enumerate(results.get("segments") or []):
        playlist = segments.get("playlist_name") or segments.get("live_playlist_name")
        found.append(Output("segments", n, _key(playlist), int(segments.get("size") or 0)))
    for n, images in enumerate(results.get("images") or []):
        found.append(Output("images", n, _key(images.get("filename_prefix"))))
    return [output for output in found if output.key]


def output(job: EgressJob, kind: str, n: int) -> Output | None:
    return next((o for o in outputs(job) if o.kind == kind and o.n == n), None)


def store(job: EgressJob) -> Store:
    """The store the job's outputs are in, with its profile's credentials; NoStore if none."""
    profile = job.storage_profile
    if profile is None:
        raise NoStore(_no_profile(job))
    try:
        secrets = profile.secrets()
    except SecretKeyError:
        raise NoStore(
            f"The secrets of storage profile {profile.name} cannot be read with this server's "
            "keys, so the dashboard cannot make a link."
        ) from None
    return Store(profile.provider, profile.config, secrets)


def _no_profile(job: EgressJob) -> str:
    if job.external:
        return (
            "This job was started outside the dashboard (auto egress, the CLI or another app): "
            "the dashboard holds no credentials for where it uploaded, so it cannot make a link."
        )
    if (job.config or {}).get("server_storage"):
        return (
            "This job uploaded with the LiveKit server's own storage settings, which the "
            "dashboard does not hold, so it cannot make a link."
        )
    # A profile in use cannot be deleted (the foreign key protects it): a job without one was
    # launched without one, and its files went where the egress server was set up to put them.
    return (
        "This job was launched without a storage profile: its files went where the egress "
        "server is set up to put them, which the dashboard holds no credentials for, so it "
        "cannot make a link."
    )


def segment_key(playlist_key: str, uri: str) -> str | None:
    """The key a playlist's relative URI names (beside the playlist), None if it leaves the
    playlist's folder or is absolute."""
    if "://" in uri or uri.startswith("/"):
        return None
    folder = PurePosixPath(playlist_key).parent
    parts: list[str] = [] if str(folder) == "." else list(folder.parts)
    for part in uri.split("?", 1)[0].split("/"):
        if part == "..":
            if not parts:
                return None
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts) or None


def is_image(key: str) -> bool:
    return PurePosixPath(key).suffix.lower() in IMAGES


def _key(name: object) -> str:
    return str(name or "").lstrip("/")
