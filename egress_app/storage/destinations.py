"""Stream destinations: LiveKit's stream URL rules and the URL built for each LiveKit call.

A destination is stored as a server URL plus a stream key, both secret. The rules follow
livekit/egress pkg/config/urls.go: RTMP URLs must read `rtmp(s)://host[/path]/app/key`, SRT URLs
`srt://host:port`, and `mux://key` / `twitch://key` are shorthands LiveKit expands itself.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

Errors = dict[str, str]

SCHEMES = ("rtmp", "rtmps", "srt", "mux", "twitch")
SHORTHANDS = {"mux": "global-live.mux.com", "twitch": "twitch.tv"}
# E:pkg/config/urls.go; the optional " live=1" suffix is librtmp's.
RTMP_PATTERN = re.compile(r"^(rtmps?://)(.*/)(.*/)(\S*)( live=1)?$")
LIVE_SUFFIX = " live=1"
# mux:// and twitch:// carry the key as the URL's host, so only host-safe characters survive.
SHORTHAND_KEY = re.compile(r"[A-Za-z0-9._~-]+")

SCHEME_LIST = "rtmp://, rtmps://, srt://, mux:// or twitch://"
NO_SCHEME = f"Start the URL with its scheme: {SCHEME_LIST}."
SPACE_IN_HOST = "The host name has a space in it: URLs cannot contain spaces."
SPACE_IN_PATH = (
    "The part after the host has a space in it: URLs cannot contain spaces (a stream key "
    "goes in its own field)."
)
NO_HOST = "Add the host name after the scheme, e.g. rtmp://live.example.com/app."
BAD_PORT = "The port must be a number from 1 to 65535."
NO_APP = (
    "Add the application path after the host, e.g. rtmp://live.example.com/app: RTMP server "
    "URLs look like rtmp://host/app or rtmp://host/path/app, with the stream key in its own field."
)
RTMP_SHAPE = (
    "RTMP server URLs look like rtmp://host/app or rtmp://host/path/app, with the stream key "
    "in its own field."
)
SRT_SHAPE = "SRT URLs look like srt://host:port."
REQUIRED_KEY = "Stream key is required."


def _lower_scheme(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    return f"{scheme.lower()}{sep}{rest}" if sep else url


def normalize(server_url: str, stream_key: str) -> tuple[str, str]:
    """Trimmed values, with a key typed into a shorthand URL (`mux://KEY`) moved to the key."""
    server_url, stream_key = _lower_scheme(server_url.strip()), stream_key.strip()
    scheme, sep, rest = server_url.partition("://")
    if scheme in SHORTHANDS and sep and rest and not stream_key:
        return f"{scheme}://", rest
    return server_url, stream_key


def protocol_of(server_url: str) -> str:
    """The StreamProtocol value (`rtmp`, `rtmps`, `srt`, `mux`, `twitch`) of a valid URL."""
    return urlsplit(server_url).scheme


def host_of(server_url: str) -> str:
    """The host to show beside the destination's name; never anything secret."""
    scheme = protocol_of(server_url)
    return SHORTHANDS.get(scheme) or urlsplit(server_url).hostname or ""


def validate(server_url: str, stream_key: str) -> Errors:
    """Field name (`server_url`, `stream_key`) -> message, as LiveKit would judge the URL."""
    server_url, stream_key = normalize(server_url, stream_key)
    if not server_url:
        return {"server_url": "Server URL is required."}
    if message := _scheme_or_space_error(server_url):
        return {"server_url": message}
    scheme = protocol_of(server_url)
    if scheme in SHORTHANDS:
        return _shorthand_errors(server_url, stream_key)
    if scheme == "srt":
        return _srt_errors(server_url, stream_key)
    return _rtmp_errors(server_url, stream_key)


def _scheme_or_space_error(server_url: str) -> str | None:
    """What is wrong with the URL's scheme or where a space sits in it, if anything."""
    scheme, sep, rest = server_url.partition("://")
    if not sep:
        return NO_SCHEME
    if scheme not in SCHEMES:
        return f"{scheme[:20]}:// is not a streaming scheme: use {SCHEME_LIST}."
    host, _, path = rest.partition("/")
    if re.search(r"\s", host):
        return SPACE_IN_HOST
    if re.search(r"\s", path):
        return SPACE_IN_PATH
    return None


def _port_ok(server_url: str) -> bool:
    try:
        urlsplit(server_url).port  # noqa: B018  (raises for a port that is not a number in range)
    except ValueError:
        return False
    return True


def _shorthand_errors(server_url: str, stream_key: str) -> Errors:
    if server_url.partition("://")[2]:
        return {"server_url": "Give the key either in the URL or as the stream key, not both."}
    if not stream_key:
        return {"stream_key": REQUIRED_KEY}
    if not SHORTHAND_KEY.fullmatch(stream_key):
        return {"stream_key": "Use only letters, digits and . _ ~ - in this stream key."}
    return {}


def _srt_errors(server_url: str, stream_key: str) -> Errors:
    parts = urlsplit(server_url)
    if not parts.hostname or not _port_ok(server_url) or parts.port is None:
        return {"server_url": SRT_SHAPE}
    if stream_key and any(name == "streamid" for name, _ in parse_qsl(parts.query)):
        return {"stream_key": "The server URL already has a streamid: leave the stream key empty."}
    return {}


def _rtmp_errors(server_url: str, stream_key: str) -> Errors:
    parts = urlsplit(server_url)
    if not parts.hostname:
        return {"server_url": NO_HOST}
    if not _port_ok(server_url):
        return {"server_url": BAD_PORT}
    if parts.query or parts.fragment:
        return {"server_url": "An RTMP server URL has no ? or # part; put it in the stream key."}
    if not stream_key:
        return {"stream_key": REQUIRED_KEY}
    if re.search(r"\s", stream_key.removesuffix(LIVE_SUFFIX)):
        return {"stream_key": "A stream key cannot contain spaces."}
    if not RTMP_PATTERN.match(output_url(server_url, stream_key)):
        return {"server_url": NO_APP if not parts.path.strip("/") else RTMP_SHAPE}
    return {}


def output_url(server_url: str, stream_key: str) -> str:
    """The URL LiveKit dials for a valid destination (build it only for the call itself)."""
    scheme = protocol_of(server_url)
    if scheme in SHORTHANDS:
        return f"{scheme}://{stream_key}"
    if scheme == "srt":
        if not stream_key:
            return server_url
        parts = urlsplit(server_url)
        query = "&".join(filter(None, [parts.query, urlencode({"streamid": stream_key})]))
        return urlunsplit(parts._replace(query=query))
    return f"{server_url.rstrip('/')}/{stream_key}" if stream_key else server_url
