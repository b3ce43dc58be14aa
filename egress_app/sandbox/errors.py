"""Twirp errors with LiveKit's codes and messages."""

from __future__ import annotations

from egress_app.livekit.errors import TWIRP_STATUS


class TwirpError(Exception):
    def __init__(self, code: str, msg: str, meta: dict[str, str] | None = None) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.meta = meta or {}

    @property
    def status(self) -> int:
        return TWIRP_STATUS.get(self.code, 500)


def invalid_input(field: str) -> TwirpError:
    return TwirpError("invalid_argument", f"request has missing or invalid field: {field}")


def invalid_url(url: str, reason: str) -> TwirpError:
    return TwirpError("invalid_argument", f"invalid url {url}: {reason}")


def permission_denied() -> TwirpError:
    # LiveKit wraps missing grants as unauthenticated, not permission_denied.
    return TwirpError("unauthenticated", "permissions denied")


def egress_not_found() -> TwirpError:
    return TwirpError("not_found", "egress does not exist")


def room_not_found() -> TwirpError:
    return TwirpError("not_found", "requested room does not exist")


def no_workers() -> TwirpError:
    # psrpc ErrNoResponse passed through xtwirp keeps the code and prefixes the message.
    return TwirpError("unavailable", "twirp error unknown: no response from servers")
