"""LiveKit's EgressInfo as the dashboard keeps it: credentials and stream keys scrubbed.

LiveKit echoes each egress's request in its EgressInfo, and quotes stream URLs in its errors.
Nothing of that is stored as it came: `scrub_info` and `results_of` give what a job may keep,
`hide_stream_urls` what it may show of LiveKit's texts, given the real URLs to hide and the
`Secrets` the dashboard keeps (every destination's and profile's, gathered by the caller: this
module knows no models).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

from google.protobuf import json_format
from livekit.protocol import egress

from egress_app import redact
from egress_app.livekit.enums import name_of
from egress_app.livekit.redact import redact_stream_url
from egress_app.livekit.times import from_ns

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
HIDDEN = "{…}"
# Members of a JSON credential (a GCS service account key) that are secret on their own.
_JSON_SECRET_KEYS = ("private_key", "private_key_id")


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
    return [part for part in found if len(part) >= redact.SHORTEST]


class Secrets(redact.Secrets):
    """Secret values to hide wherever a text quotes them (egress_app.redact's rule), shown as
    LiveKit shows what it redacted."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        super().__init__(values, hidden=HIDDEN)


NO_SECRETS = Secrets()


def stored_values(secrets: Mapping[str, str]) -> list[str]:
    """What of a destination's or profile's decrypted secrets to hide in texts: each value, but
    of a URL only its secret parts (its host and path name nothing secret) and of a JSON
    credential also its private key and key id."""
    values: list[str] = []
    for value in secrets.values():
        if "://" in value:
            values += _secret_parts(value)
            continue
        values.append(value)
        with contextlib.suppress(ValueError):
            document = json.loads(value)
            if isinstance(document, dict):
                values += [str(document.get(key) or "") for key in _JSON_SECRET_KEYS]
    return values


def hide_stream_urls(text: str, urls: Sequence[str], secrets: Secrets = NO_SECRETS) -> str:
    """`text` with each of these real stream URLs redacted, and any secret part of one that
    still shows (LiveKit may quote a URL as it rewrote it, `mux://` expanded, say, or in
    another case, or URL-encoded), and every one of `secrets`."""
    return _hider(urls, secrets)(text)


def _hider(urls: Sequence[str], secrets: Secrets) -> Callable[[str], str]:
    """`hide_stream_urls` for many texts: its patterns made once."""
    parts = Secrets(part for url in urls for part in _secret_parts(url))

    def hide(text: str) -> str:
        for url in urls:
            text = text.replace(url, redact_stream_url(url))
        return secrets.hide(parts.hide(text))

    return hide


def _scrub(value: Any, hide: Callable[[str], str], key: str = "") -> Any:
    if isinstance(value, dict):
        return {name: _scrub(item, hide, name) for name, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, hide, key) for item in value]
    if not isinstance(value, str) or not value:
        return value
    if key in _CREDENTIAL_KEYS and not (value.startswith("{") and value.endswith("}")):
        return f"{{{key}}}"
    if key in _URL_KEYS and value.startswith(_STREAM_SCHEMES):
        return hide(_redact_once(value))
    return hide(value)


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


def scrub(value: Any, secrets: Secrets = NO_SECRETS) -> Any:
    """A JSON value with credentials and stream keys replaced by placeholders, and `secrets`
    hidden wherever they appear."""
    return _scrub(value, secrets.hide)


def _redact_once(url: str) -> str:
    # LiveKit has already redacted RTMP keys (`{abc...xyz}`); redacting twice would mangle them.
    return url if "{" in url else redact_stream_url(url)


def info_dict(info: egress.EgressInfo) -> dict[str, Any]:
    """LiveKit's EgressInfo as JSON, as it came (secrets included: scrub before keeping it)."""
    return json_format.MessageToDict(info, preserving_proto_field_name=True)


def scrub_info(
    raw: Mapping[str, Any], urls: Sequence[str], secrets: Secrets = NO_SECRETS
) -> dict[str, Any]:
    """An `info_dict` with every credential and stream key scrubbed."""
    return cast(dict[str, Any], _scrub(raw, _hider(urls, secrets)))


def _file_result(result: egress.FileInfo) -> dict[str, Any]:
    return {
        "filename": result.filename,
        "location": result.location,
        "size": result.size,
        "duration": _seconds(result.duration),
    }


def _stream_result(result: egress.StreamInfo, hide: Callable[[str], str]) -> dict[str, Any]:
    return {
        "url": hide(_redact_once(result.url)),
        "status": name_of(egress.StreamInfo.Status, result.status),
        "error": hide(result.error),
        "retries": result.retries,
        "duration": _seconds(result.duration),
        "started_at": _iso(result.started_at),
    }


def _iso(ns: int) -> str:
    """A time LiveKit gives in nanoseconds, as ISO 8601 ("" when unset)."""
    moment = from_ns(ns)
    return moment.isoformat() if moment else ""


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


def results_of(
    info: egress.EgressInfo, urls: Sequence[str], secrets: Secrets = NO_SECRETS
) -> dict[str, Any]:
    """Per-output results; an older LiveKit fills only the deprecated single `result`."""
    hide = _hider(urls, secrets)
    legacy = info.WhichOneof("result")
    files = list(info.file_results) or ([info.file] if legacy == "file" else [])
    streams = list(info.stream_results) or (list(info.stream.info) if legacy == "stream" else [])
    segments = list(info.segment_results) or ([info.segments] if legacy == "segments" else [])
    return {
        "files": [_file_result(result) for result in files],
        "streams": [_stream_result(result, hide) for result in streams],
        "segments": [_segments_result(result) for result in segments],
        "images": [_images_result(result) for result in info.image_results],
        "manifest_location": info.manifest_location,
    }
