"""Hiding secret values wherever a text quotes them: one rule for every text the dashboard
shows or keeps of what a service said (LiveKit's errors, a storage probe's, a speech engine's).

A value is hidden as it is, in any case, and URL-encoded (`quote`, `quote_plus`), as a URL or
a query string carries it. No engine sends its key as HTTP basic auth (Gladia: `x-gladia-key`,
Deepgram: `Token`, AssemblyAI: the bare key, Forward: `Bearer`), so no base64 form is needed.

Imports only the stdlib (make lint checks): the Django-free speech engines and the LiveKit
seam use it as the pages do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from urllib.parse import quote, quote_plus

# Shorter values are left alone: hidden wherever they appear, in any case, a value that short
# ("live", "1234", "admin") would turn ordinary words and ids into placeholders, and a secret
# that short protects next to nothing anyway.
SHORTEST = 6
HIDDEN = "[hidden]"


def _forms(value: str) -> set[str]:
    return {value, quote(value, safe=""), quote(value), quote_plus(value)}


class Secrets:
    """Secret values to hide in texts, each replaced by `hidden`."""

    def __init__(self, values: Iterable[str] = (), hidden: str = HIDDEN) -> None:
        values = {value.strip() for value in values if value}
        forms = {form for value in values if len(value) >= SHORTEST for form in _forms(value)}
        # Longest first: a secret that contains another is hidden whole.
        alternatives = sorted(forms, key=lambda form: (-len(form), form))
        pattern = "|".join(re.escape(form) for form in alternatives)
        self._pattern = re.compile(pattern, re.IGNORECASE) if alternatives else None
        self._hidden = hidden

    def __bool__(self) -> bool:
        return self._pattern is not None

    def hide(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(self._hidden, text)


def redactor(values: Iterable[str]) -> Callable[[str], str]:
    """A function hiding each of `values` in a text (made once: its pattern is compiled)."""
    return Secrets(values).hide
