"""A launch's maximum duration (`stop_after`, whole seconds): the worker stops the egress with
StopEgress once it has run that long (egress_app/actions/max_duration.py).

People type it as a clock ("1:30:00", "45:00" is 45 minutes), or a number with a unit ("90m",
"2h", "1h30m"); Django's `parse_duration` reads the clock forms and ISO 8601 ("PT2H").
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.utils.dateparse import parse_duration

SHORTEST = timedelta(minutes=1)
LONGEST = timedelta(days=7)
HELP = "Optional. A length such as 1:30:00, 90m or 2h; the dashboard stops the egress then."
BAD = "Enter a length such as 1:30:00, 90m or 2h (or leave it empty)."
OUT_OF_RANGE = "Choose a length between 1 minute and 7 days."
_UNITS = re.compile(r"(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*(?:(\d+)\s*s)?", re.IGNORECASE)


def parse(value: Any) -> Any:
    """Whole seconds for a length given as text or seconds; None for nothing; anything it
    cannot read as given (for `error` to name)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        return value
    text = value.strip()
    if ":" in text and re.fullmatch(r"\d+:\d\d", text):
        text = f"0:{text}"  # "45:00" reads as 45 minutes, not 45 hours
    try:
        length = _length(text)
    except OverflowError:  # more days than a timedelta holds: far beyond LONGEST
        return int(LONGEST.total_seconds()) + 1
    return round(length.total_seconds()) if length is not None else value


def _length(text: str) -> timedelta | None:
    length = parse_duration(text) if not text.isdigit() else None
    if length is None and (match := _UNITS.fullmatch(text)) and any(match.groups()):
        hours, minutes, seconds = (int(part or 0) for part in match.groups())
        length = timedelta(hours=hours, minutes=minutes, seconds=seconds)
    return length


def error(value: Any) -> str:
    """What is wrong with a parsed `stop_after` ("" when nothing)."""
    if value is None:
        return ""
    if not isinstance(value, int) or isinstance(value, bool):
        return BAD
    if not SHORTEST.total_seconds() <= value <= LONGEST.total_seconds():
        return OUT_OF_RANGE
    return ""


def clock(seconds: float) -> str:
    """`H:MM:SS`, as the job page's clocks show a length."""
    whole = max(0, round(seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
