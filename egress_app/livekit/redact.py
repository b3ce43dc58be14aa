"""Stream URLs as LiveKit redacts them, after livekit/protocol utils/redact.go and egress/redact.go.

LiveKit never echoes a stream key whole: in `EgressInfo.request` an RTMP key keeps its first and
last characters (`rtmp://host/app/{abc...xyz}`) and a websocket URL keeps only the names of its
query parameters (`wss://host/in?token={...}`). `echoed_stream_url` is exactly that; the
dashboard's own display form, `redact_stream_url`, also hides what LiveKit leaves whole but a
producer may have typed a secret into (an SRT passphrase, a mux:// or twitch:// key).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit, urlunsplit

# rtmp urls must be of format rtmp(s)://{host}(/{path})/{app}/{stream_key}( live=1)
RTMP_PATTERN = re.compile(r"^(rtmps?://)(.*/)(.*/)(\S*)( live=1)?$")
WEBSOCKET_SCHEMES = ("ws", "wss")
# These carry the stream key as the URL's host (egress expands them itself).
KEY_AS_HOST_SCHEMES = ("mux", "twitch")


def redact_identifier(identifier: str) -> str:
    """`{abc...xyz}`: up to three characters from each end, fewer for short values."""
    prefix = suffix = ""
    for size in (3, 2, 1):
        if len(identifier) >= size * 3:
            prefix, suffix = identifier[:size], identifier[-size:]
            break
    return f"{{{prefix}...{suffix}}}"


def redact_stream_key(url: str) -> tuple[str, bool]:
    """The RTMP URL with its key masked, and whether it was an RTMP URL LiveKit accepts."""
    match = RTMP_PATTERN.match(url)
    if match is None:
        return url, False
    scheme, host, app, key, live = match.groups()
    return f"{scheme}{host}{app}{redact_identifier(key)}{live or ''}", True


def redact_query(url: str) -> str:
    """The URL with each query value replaced by `{...}`; the parameter names stay."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = "&".join(f"{key}={{...}}" for key, _ in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit(parts._replace(query=query))


def _scheme(url: str) -> str:
    return url.partition("://")[0].lower()


def echoed_stream_url(url: str) -> str:
    """The URL exactly as LiveKit echoes it in a request: other schemes come back as given."""
    if _scheme(url) in WEBSOCKET_SCHEMES:
        return redact_query(url)
    return redact_stream_key(url)[0]


def redact_stream_url(url: str) -> str:
    """What the dashboard shows and stores for a stream URL: never a usable key.

    Equal to LiveKit's echo for RTMP and websocket URLs; SRT query values (stream id,
    passphrase) and mux:// / twitch:// keys, which LiveKit echoes as given, are masked too.
    """
    scheme = _scheme(url)
    if scheme in KEY_AS_HOST_SCHEMES:
        key = url.partition("://")[2]
        return f"{scheme}://{redact_identifier(key)}" if key else url
    if scheme == "srt":
        return redact_query(url)
    return echoed_stream_url(url)
