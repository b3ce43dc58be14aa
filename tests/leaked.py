"""A secret as a service might quote it back, for tests that it never shows: as it is, in
another case, URL-encoded, base64-encoded (as HTTP basic auth would carry it)."""

from __future__ import annotations

import base64
from urllib.parse import quote, quote_plus

# A key that URL-encoding changes (`/`, `+`, `=`, a space), so each form is a different text.
ENGINE_KEY = "gl-SECRET/3f9a+8c7e=6d5b 4a39-28171605"


def forms(value: str) -> list[str]:
    encoded = value.encode()
    return [
        value,
        value.lower(),
        value.upper(),
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
        base64.b64encode(encoded).decode(),
        base64.urlsafe_b64encode(encoded).decode(),
    ]


def echoed(value: str) -> str:
    """A refusal quoting the key it got in three of those forms."""
    return f"the key {value} ({quote(value, safe='')}, {value.upper()}) is not valid"


def found_in(text: str, value: str) -> list[str]:
    """The forms of `value` that `text` holds, any case."""
    return [form for form in forms(value) if form.lower() in text.lower()]
