"""What a validated Start* request asks for: the sandbox's own record of it, secrets included.

A leaf module: validation builds these, the rules and the outputs read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from google.protobuf.message import Message
from livekit.protocol import egress

DEFAULT_VIDEO_KBPS = 3000
DEFAULT_AUDIO_KBPS = 128


@dataclass
class FileSpec:
    file_type: int
    filepath: str
    storage: egress.StorageConfig | None
    disable_manifest: bool = False


@dataclass
class SegmentSpec:
    filename_prefix: str
    playlist_name: str
    live_playlist_name: str
    segment_duration: int
    storage: egress.StorageConfig | None
    disable_manifest: bool = False
    filename_suffix: int = egress.SegmentedFileSuffix.INDEX


@dataclass
class ImageSpec:
    capture_interval: int
    filename_prefix: str
    storage: egress.StorageConfig | None
    filename_suffix: int = egress.ImageFileSuffix.IMAGE_SUFFIX_INDEX


@dataclass
class StreamSpec:
    kind: str  # "rtmp" | "srt" | "websocket"
    urls: list[str]  # as LiveKit dials them (mux:// and twitch:// expanded), unredacted


@dataclass
class Plan:
    """What a validated Start* request asks for, with its secrets (kept inside the sandbox)."""

    request_field: str  # the EgressInfo.request oneof member
    request: Message
    room_name: str
    source_type: int
    identifier: str  # default filename stem
    audio: bool
    video: bool
    identity: str = ""  # participant egress / participant video
    track_ids: list[str] = field(default_factory=list)
    layout: str = ""
    video_kbps: int = DEFAULT_VIDEO_KBPS
    audio_kbps: int = DEFAULT_AUDIO_KBPS
    files: list[FileSpec] = field(default_factory=list)
    segments: list[SegmentSpec] = field(default_factory=list)
    images: list[ImageSpec] = field(default_factory=list)
    stream: StreamSpec | None = None
    webhooks: list[tuple[str, str]] = field(default_factory=list)
    is_track: bool = False
    passthrough: bool = False
    audio_codec: str = ""  # egress's out codec from the advanced options ("" = any)
    video_codec: str = ""

    @property
    def websocket(self) -> bool:
        return self.stream is not None and self.stream.kind == "websocket"

    @property
    def output_kinds(self) -> int:
        kinds = [self.files, self.segments, self.images, [self.stream] if self.stream else []]
        return sum(1 for kind in kinds if kind)
