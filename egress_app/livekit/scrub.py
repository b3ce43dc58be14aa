"""LiveKit's EgressInfo as the dashboard keeps it: credentials and stream keys scrubbed.

LiveKit echoes each egress's request in its EgressInfo, and quotes stream URLs in its errors.
Nothing of that is stored as it came: `scrub_info` and `results_of` give what a job may keep,
`hide_stream_urls` what it may show of LiveKit's texts, given the real URLs to hide.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

from google.protobuf import json_format
from livekit.protocol import egress

from egress_app.livekit.enums import name_of
from egress_app.livekit.redact import redact_stream_url

# Keys of upload credentials in an echoed request. LiveKit replaces them with placeholders
# (`{secret}`); a server that forgot one (the proxy password, say) must not get it stored.
_CREDENTIAL_KEYS = {
    "access_key",
    "secret",
    "session_token",
    "assume_role_external_id",
    "credentials",
    "account_name",
    "account_key",
    "password",
    "stream_key",
}
_URL_KEYS = {"url", "urls", "websocket_url"}
_STREAM_SCHEMES = ("rtmp://", "rtmps://", "srt://", "mux://", "twitch://", "ws://", "wss://")
_NS = 1_000_000_000
# Shorter values are too common to hide as a secret wherever they appear.
_SECRET_PART_CHARS = 6


def _seconds(ns: int) -> float:
    return round(ns / _NS, 3)


def _secret_parts(url: str) -> list[str]:
    """What in a stream URL may be secret: the key, query values, a password."""
    parts = urlsplit(url)
    found = [value for _, value in parse_qsl(parts.query)]
    if parts.scheme in ("mux", "twitch"):
        found.append(parts.netloc)
    elif parts.scheme in ("rtmp", "rtmps"):
        found.append(parts.path.rsplit("/", 1)[-1].removesuffix(" live=1"))
    with contextlib.suppress(ValueError):
        found.append(parts.password or "")
    return [part for part in found if len(part) >= _SECRET_PART_CHARS]


def hide_stream_urls(text: str, urls: Sequence[str]) -> str:
    """`text` with each of these real stream URLs redacted, and any secret part of one that
    still shows (LiveKit may quote a URL as it rewrote it, `mux://` expanded, say)."""
    for url in urls:
        text = text.replace(url, redact_stream_url(url))
    for url in urls:
        for part in _secret_parts(url):
            text = text.replace(part, "{…}")
    return text


def _scrub(value: Any, urls: Sequence[str], key: str = "") -> Any:
    if isinstance(value, dict):
        return {name: _scrub(item, urls, name) for name, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, urls, key) for item in value]
    if not isinstance(value, str) or not value:
        return value
    if key in _CREDENTIAL_KEYS and not (value.startswith("{") and value.endswith("}")):
        return f"{{{key}}}"
    if key in _URL_KEYS and value.startswith(_STREAM_SCHEMES):
        return _redact_once(value)
    return hide_stream_urls(value, urls)


def stream_urls_in(raw: Mapping[str, Any]) -> list[str]:
    """The stream URLs an EgressInfo (as `info_dict` gives it) holds unredacted, in its request
    or results."""
    found: list[str] = []

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                walk(item, name)
        elif isinstance(value, list):
            for item in value:
                walk(item, key)
        elif key in _URL_KEYS and isinstance(value, str) and value.startswith(_STREAM_SCHEMES):
            found.append(value)

    walk(raw)
    return [url for url in found if "{" not in url]  # `{…}`: LiveKit has redacted it already


def scrub(value: Any) -> Any:
    """A JSON value with credentials and stream keys replaced by placeholders."""
    return _scrub(value, [])


def _redact_once(url: str) -> str:
    # LiveKit has already redacted RTMP keys (`{abc...xyz}`); redacting twice would mangle them.
    return url if "{" in url else redact_stream_url(url)


def info_dict(info: egress.EgressInfo) -> dict[str, Any]:
    """LiveKit's EgressInfo as JSON, as it came (secrets included: scrub before keeping it)."""
    return json_format.MessageToDict(info, preserving_proto_field_name=True)


def scrub_info(raw: Mapping[str, Any], urls: Sequence[str]) -> dict[str, Any]:
    """An `info_dict` with every credential and stream key scrubbed."""
    return cast(dict[str, Any], _scrub(raw, urls))


def _file_result(result: egress.FileInfo) -> dict[str, Any]:
    return {
        "filename": result.filename,
        "location": result.location,
        "size": result.size,
        "duration": _seconds(result.duration),
    }


def _stream_result(result: egress.StreamInfo, urls: Sequence[str]) -> dict[str, Any]:
    return {
        "url": _redact_once(result.url),
        "status": name_of(egress.StreamInfo.Status, result.status),
        "error": hide_stream_urls(result.error, urls),
        "retries": result.retries,
        "duration": _seconds(result.duration),
    }


def _segments_result(result: egress.SegmentsInfo) -> dict[str, Any]:
    return {
        "playlist_name": result.playlist_name,
        "playlist_location": result.playlist_location,
        "live_playlist_name": result.live_playlist_name,
        "live_playlist_location": result.live_playlist_location,
        "segment_count": result.segment_count,
        "size": result.size,
        "duration": _seconds(result.duration),
    }


def _images_result(result: egress.ImagesInfo) -> dict[str, Any]:
    return {"filename_prefix": result.filename_prefix, "image_count": result.image_count}


def results_of(info: egress.EgressInfo, urls: Sequence[str]) -> dict[str, Any]:
    """Per-output results; an older LiveKit fills only the deprecated single `result`."""
    legacy = info.WhichOneof("result")
    files = list(info.file_results) or ([info.file] if legacy == "file" else [])
    streams = list(info.stream_results) or (list(info.stream.info) if legacy == "stream" else [])
    segments = list(info.segment_results) or ([info.segments] if legacy == "segments" else [])
    return {
        "files": [_file_result(result) for result in files],
        "streams": [_stream_result(result, urls) for result in streams],
        "segments": [_segments_result(result) for result in segments],
        "images": [_images_result(result) for result in info.image_results],
        "manifest_location": info.manifest_location,
    }
