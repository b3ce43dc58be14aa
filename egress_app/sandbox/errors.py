"""Twirp errors with LiveKit's codes and messages."""

from __future__ import annotations

# twitchtv/twirp errors.go ServerHTTPStatusFromErrorCode; its keys are the valid ErrorCodes.
TWIRP_STATUS = {
    "canceled": 408,
    "unknown": 500,
    "invalid_argument": 400,
    "malformed": 400,
    "deadline_exceeded": 408,
    "not_found": 404,
    "bad_route": 404,
    "already_exists": 409,
    "permission_denied": 403,
    "unauthenticated": 401,
    "resource_exhausted": 429,
    "failed_precondition": 412,
    "aborted": 409,
    "out_of_range": 400,
    "unimplemented": 501,
    "internal": 500,
    "unavailable": 503,
    "data_loss": 500,
    "": 200,  # NoError
}


class TwirpError(Exception):
    def __init__(self, code: str, msg: str, meta: dict[str, str] | None = None) -> None:
        # twirp errors.go NewError: a code Twirp does not know becomes an internal error, so a
        # server never answers the HTTP status 0 ServerHTTPStatusFromErrorCode gives it.
        if code not in TWIRP_STATUS:
            code, msg = "internal", f"invalid error type {code}"
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.meta = meta or {}

    @property
    def status(self) -> int:
        return TWIRP_STATUS[self.code]


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
