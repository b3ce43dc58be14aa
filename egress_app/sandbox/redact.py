"""Redaction as LiveKit does it: of echoed requests after livekit/protocol egress/redact.go and
utils/redact.go, and of the stream URLs egress reports after E:pkg/config/urls.go.

The two differ: the echo of a request hides mux:// and twitch:// keys and any query value, while
egress's `StreamInfo.url` hides only an RTMP key (of the URL it dials) and shows SRT and
websocket URLs as given.
"""

from __future__ import annotations

import re

from google.protobuf.message import Message
from livekit.protocol import egress

# Go's \S is [^\t\n\f\r ] (ASCII only), and its $ ends the text where Python's $ also matches
# before a final newline: hence the class and \Z.
_NOT_SPACE = r"[^\t\n\f\r ]"
# rtmp urls must be of format rtmp(s)://{host}(/{path})/{app}/{stream_key}( live=1)
# (rtmpRegexp, the same in livekit/protocol utils/redact.go and E:pkg/config/urls.go)
RTMP_PATTERN = re.compile(rf"(rtmps?://)(.*/)(.*/)({_NOT_SPACE}*)( live=1)?\Z")
# mux and twitch shorthand urls carry the stream key as the entire authority
# (livekit/protocol utils/redact.go shorthandStreamRegexp)
SHORTHAND_PATTERN = re.compile(rf"(mux|twitch)://({_NOT_SPACE}+)\Z")

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


# --- stream URLs ---------------------------------------------------------------------------------
def redact_identifier(identifier: str) -> str:
    """livekit/protocol utils/redact.go RedactIdentifier: `{abc...xyz}`, fewer for short values."""
    # Go measures and cuts the string in bytes, not characters.
    raw = identifier.encode()
    for size in (3, 2, 1):
        if len(raw) >= size * 3:
            prefix, suffix = raw[:size], raw[-size:]
            return f"{{{prefix.decode(errors='replace')}...{suffix.decode(errors='replace')}}}"
    return "{...}"


def redact_url_query_values(url: str) -> str:
    """livekit/protocol utils/redact.go RedactUrlQueryValues: each non-empty value is `{...}`."""
    base, found, query = url.partition("?")
    if not found or not query:
        return url
    params = query.split("&")
    for index, param in enumerate(params):
        key, equals, value = param.partition("=")
        if equals and value:
            params[index] = f"{key}={{...}}"
    return f"{base}?{'&'.join(params)}"


def _redact_rtmp(url: str) -> str | None:
    """The RTMP URL with its key redacted, None for a URL that is not one (rtmpRegexp)."""
    match = RTMP_PATTERN.match(url)
    if match is None:
        return None
    scheme, host, app, key, live = match.groups()
    return f"{scheme}{host}{app}{redact_identifier(key)}{live or ''}"


def redact_stream_key(url: str) -> tuple[str, bool]:
    """livekit/protocol utils/redact.go RedactStreamKey: the URL redacted, and whether it was."""
    if match := SHORTHAND_PATTERN.match(url):
        return f"{match[1]}://{redact_identifier(match[2])}", True
    if (redacted := _redact_rtmp(url)) is not None:
        return redacted, True
    redacted = redact_url_query_values(url)
    return redacted, redacted != url


def stream_info_url(url: str, kind: str) -> str:
    """`StreamInfo.url` for a URL egress dials (E:pkg/config/urls.go ValidateUrl `redacted`)."""
    if kind != "rtmp":
        return url  # OutputTypeSRT, OutputTypeRaw: redacted = rawUrl
    redacted = _redact_rtmp(url)  # redactStreamKey; validation refused URLs it does not match
    return url if redacted is None else redacted


# --- requests ------------------------------------------------------------------------------------
def _redact_upload(holder: Message) -> None:
    """`holder` has an s3/gcp/azure/aliOSS field (a v1 output or a v2 StorageConfig)."""
    for provider, fields in _UPLOAD_FIELDS.items():
        if provider in holder.DESCRIPTOR.fields_by_name and holder.HasField(provider):
            upload = getattr(holder, provider)
            for name, placeholder in fields.items():
                if getattr(upload, name):
                    setattr(upload, name, placeholder)


def _redact_stream(stream: egress.StreamOutput) -> None:
    # livekit/protocol egress/redact.go RedactStreamKeys; it predates `destinations`, whose URLs
    # are the same kind of secret and get the same rule here.
    for index, url in enumerate(stream.urls):
        stream.urls[index] = redact_stream_key(url)[0]
    for destination in stream.destinations:
        destination.url = redact_stream_key(destination.url)[0]


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
        # livekit/protocol egress/redact.go RedactDirectOutputs
        request.websocket_url = redact_url_query_values(request.websocket_url)
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
