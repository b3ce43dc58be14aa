"""The one error type the LiveKit client raises, carrying the Twirp code."""

from __future__ import annotations

import html
import re

# Twirp's own HTTP status for each error code (twirp errors.go ServerHTTPStatusFromErrorCode).
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
}

# Twirp clients' table for answers that are not Twirp JSON (twirpErrorFromIntermediary), plus
# 500 -> internal: a bare 500 is a crash or a proxy's error page, which "internal" says better.
_INTERMEDIARY_CODES = {
    400: "internal",
    401: "unauthenticated",
    403: "permission_denied",
    404: "bad_route",
    429: "resource_exhausted",
    500: "internal",
    502: "unavailable",
    503: "unavailable",
    504: "unavailable",
}

_JWT = re.compile(r"eyJ[\w-]*\.[\w-]*\.[\w-]*")
_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]*>", re.IGNORECASE | re.DOTALL)
_EXCERPT_CHARS = 200


def code_for_status(status: int) -> str:
    if 300 <= status < 400:
        return "internal"
    return _INTERMEDIARY_CODES.get(status, "unknown")


def clean_text(text: str, limit: int = _EXCERPT_CHARS) -> str:
    """A short one-line excerpt of a non-Twirp body (plain text or an HTML error page)."""
    text = html.unescape(_TAG.sub(" ", text))
    text = redact_tokens(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def redact_tokens(text: str) -> str:
    # LiveKit never echoes our token, but an error text must never carry one if something does.
    return _JWT.sub("<token>", text)


class LiveKitError(Exception):
    """A failed LiveKit API call: Twirp `code`, `message`, HTTP `status` (None without one)."""

    def __init__(
        self,
        code: str,
        message: str,
        status: int | None = None,
        meta: dict[str, str] | None = None,
        *,
        url: str = "",
    ) -> None:
        super().__init__(code, message, status, meta)
        self.code = code
        self.message = message
        self.status = status
        self.meta = dict(meta or {})
        self.url = url

    def __reduce__(self) -> tuple[object, ...]:
        # Subclasses take other arguments; rebuild every kind from its fields (pickle, copy).
        fields = (self.code, self.message, self.status, self.meta, self.url)
        return (_restore, (type(self), *fields))

    def __str__(self) -> str:
        text = f"{self.code}: {self.message}"
        return text if self.status is None else f"{text} (HTTP {self.status})"

    @property
    def plain(self) -> str:
        """The error in plain words for a person."""
        return _plain(self)


class LiveKitUnreachable(LiveKitError):
    """No HTTP answer at all: connection refused, DNS, TLS, connection dropped."""

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__("unavailable", message, None, url=url)


class LiveKitTimeout(LiveKitError):
    """LiveKit did not answer in time. After a Start call the egress may exist anyway."""

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__("deadline_exceeded", message, None, url=url)


def _restore(
    cls: type[LiveKitError],
    code: str,
    message: str,
    status: int | None,
    meta: dict[str, str],
    url: str,
) -> LiveKitError:
    error = cls.__new__(cls)
    LiveKitError.__init__(error, code, message, status, meta, url=url)
    return error


def _plain(error: LiveKitError) -> str:
    if isinstance(error, LiveKitUnreachable):
        return f"LiveKit is unreachable at {error.url or 'the configured URL'}: {error.message}."
    if isinstance(error, LiveKitTimeout):
        return _sentence(error.message)
    for code, fragment, words in _PLAIN_BY_MESSAGE:
        if error.code == code and fragment in error.message.lower():
            return words
    if error.code == "unauthenticated":
        return "LiveKit refused our credentials (check LIVEKIT_API_KEY / LIVEKIT_API_SECRET)."
    if error.meta.get("http_error_from_intermediary"):
        return (
            f"LiveKit (or a proxy in front of it) answered HTTP {error.status}"
            f"{': ' + error.message if error.message else ''}."
        )
    template = _PLAIN_BY_CODE.get(error.code, "LiveKit answered {code}: {message}")
    return _sentence(template.format(code=error.code, message=error.message or "no details"))


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."


_PLAIN_BY_MESSAGE = (
    (
        "unavailable",
        "no response from servers",
        "No egress worker accepted the job (all busy or none connected).",
    ),
    ("not_found", "requested room does not exist", "The room does not exist (any more)."),
    ("not_found", "egress does not exist", "The egress does not exist (any more)."),
    ("failed_precondition", "cannot be stopped", "The egress has already ended."),
    ("failed_precondition", "cannot be updated", "The egress has already ended."),
    (
        "unauthenticated",
        "permissions denied",
        "LiveKit accepted our credentials but not for this call (missing permission).",
    ),
    (
        "internal",
        "egress not connected",
        "LiveKit has no egress service connected (it needs Redis and an egress worker).",
    ),
)

_PLAIN_BY_CODE = {
    "invalid_argument": "LiveKit rejected the request: {message}",
    "malformed": "LiveKit could not read the request: {message}",
    "not_found": "LiveKit could not find it: {message}",
    "bad_route": "LiveKit's API is not at this address (check LIVEKIT_URL): {message}",
    "failed_precondition": "Not possible in the egress's current state: {message}",
    "resource_exhausted": "LiveKit refused the job: a limit or quota was reached ({message})",
    "permission_denied": "LiveKit denied the request: {message}",
    "deadline_exceeded": "LiveKit gave up waiting: {message}",
    "unavailable": "LiveKit is unavailable: {message}",
    "unimplemented": "This LiveKit server does not support the call: {message}",
}
