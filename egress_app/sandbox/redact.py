"""Redaction of echoed requests, after livekit/protocol egress/redact.go and utils/redact.go."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from google.protobuf.message import Message
from livekit.protocol import egress

# rtmp urls must be of format rtmp(s)://{host}(/{path})/{app}/{stream_key}( live=1)
RTMP_PATTERN = re.compile(r"^(rtmps?://)(.*/)(.*/)(\S*)( live=1)?$")

_S3_FIELDS = {
    "access_key": "{access_key}",
    "secret": "{secret}",
    "session_token": "{session_token}",
    "assume_role_external_id": "{external_id}",
}
_UPLOAD_FIELDS = {
    "s3": _S3_FIELDS,
    "gcp": {"credentials": "{credentials}"},
    "azure": {"account_name": "{account_name}", "account_key": "{account_key}"},
    "aliOSS": {"access_key": "{access_key}", "secret": "{secret}"},
}


def redact_identifier(identifier: str) -> str:
    prefix = suffix = ""
    for size in (3, 2, 1):
        if len(identifier) >= size * 3:
            prefix, suffix = identifier[:size], identifier[-size:]
            break
    return f"{{{prefix}...{suffix}}}"


def redact_stream_key(url: str) -> tuple[str, bool]:
    match = RTMP_PATTERN.match(url)
    if match is None:
        return url, False
    scheme, host, app, key, live = match.groups()
    return f"{scheme}{host}{app}{redact_identifier(key)}{live or ''}", True


def redact_query(url: str) -> str:
    """Websocket URLs keep their keys but lose their values: `?token={...}`."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = "&".join(f"{key}={{...}}" for key, _ in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit(parts._replace(query=query))


def redact_stream_url(url: str) -> str:
    if url.startswith(("ws://", "wss://")):
        return redact_query(url)
    return redact_stream_key(url)[0]


def _redact_upload(holder: Message) -> None:
    """`holder` has an s3/gcp/azure/aliOSS field (a v1 output or a v2 StorageConfig)."""
    for provider, fields in _UPLOAD_FIELDS.items():
        if provider in holder.DESCRIPTOR.fields_by_name and holder.HasField(provider):
            upload = getattr(holder, provider)
            for name, placeholder in fields.items():
                if getattr(upload, name):
                    setattr(upload, name, placeholder)


def _redact_stream(stream: egress.StreamOutput) -> None:
    for index, url in enumerate(stream.urls):
        stream.urls[index] = redact_stream_url(url)
    for destination in stream.destinations:
        destination.url = redact_stream_url(destination.url)


def redact_request(request: Message) -> None:
    """Redact a Start* request (any of the v1 shapes or the v2 StartEgressRequest) in place."""
    fields = request.DESCRIPTOR.fields_by_name
    for name in ("file_outputs", "segment_outputs", "image_outputs"):
        if name in fields:
            for output in getattr(request, name):
                _redact_upload(output)
    if "stream_outputs" in fields:
        for stream in request.stream_outputs:  # type: ignore[attr-defined]
            _redact_stream(stream)
    for name in ("file", "segments"):
        if name in fields and request.HasField(name):
            _redact_upload(getattr(request, name))
    if "stream" in fields and request.HasField("stream"):
        _redact_stream(request.stream)  # type: ignore[attr-defined]
    if isinstance(request, egress.TrackEgressRequest) and request.websocket_url:
        request.websocket_url = redact_query(request.websocket_url)
    if isinstance(request, egress.StartEgressRequest):
        if request.HasField("storage"):
            _redact_upload(request.storage)
        for output in request.outputs:
            if output.HasField("storage"):
                _redact_upload(output.storage)
            if output.HasField("stream"):
                _redact_stream(output.stream)
            for name in ("segments", "images"):
                if output.HasField(name):
                    _redact_upload(getattr(output, name))
