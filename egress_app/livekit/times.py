"""LiveKit's times as aware datetimes and back: one rule for every time the dashboard keeps.

LiveKit counts from the Unix epoch: EgressInfo's `started_at`, `ended_at` and `updated_at` and
the results' times in nanoseconds, `joined_at_ms` in milliseconds, `Room.creation_time` and
`joined_at` in seconds. A `datetime` holds microseconds, so the nanoseconds below a microsecond
are truncated (never rounded: a time never moves later than LiveKit said), and every step is
integer arithmetic: a float holds a 2026 timestamp only to about 0.2 µs, so two conversions
through floats can disagree by a microsecond.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def from_ns(ns: int) -> datetime | None:
    """An aware datetime from Unix nanoseconds, truncated to the microsecond (0 means unset)."""
    return EPOCH + timedelta(microseconds=ns // 1000) if ns else None


def from_ms(ms: int) -> datetime | None:
    return EPOCH + timedelta(milliseconds=ms) if ms else None


def from_seconds(seconds: int) -> datetime | None:
    return EPOCH + timedelta(seconds=seconds) if seconds else None


def to_ns(moment: datetime) -> int:
    """Unix nanoseconds of an aware datetime: exact, so from_ns(to_ns(t)) == t."""
    return to_us(moment) * 1000


def to_us(moment: datetime) -> int:
    return (moment - EPOCH) // _MICROSECOND


def truncated_ns(ns: int) -> int:
    """The nanoseconds a stored datetime keeps of `ns`: to_ns(from_ns(ns))."""
    return ns // 1000 * 1000
