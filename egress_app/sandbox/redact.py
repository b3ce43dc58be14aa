"""Redaction of echoed requests, after livekit/protocol egress/redact.go and utils/redact.go."""

from __future__ import annotations

from google.protobuf.message import Message
from livekit.protocol import egress

# The URL rules are the production module's: the sandbox echoes URLs exactly as LiveKit does.
from egress_app.livekit.redact import RTMP_PATTERN, redact_query
from egress_app.livekit.redact import echoed_stream_url as redact_stream_url

__all__ = ["RTMP_PATTERN", "redact_request", "redact_stream_url"]

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
