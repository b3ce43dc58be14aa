"""When a schedule runs: the next start after a moment, in the schedule's own time zone, with
the zone's daylight saving changes (zoneinfo's rules, PEP 495).

A wall time a spring change skips (02:30 on the night clocks jump from 02:00 to 03:00) runs at
the instant that wall time names with the offset before the change, so 03:30 the new time; a
wall time an autumn change repeats runs once, the first time it comes (`fold=0`). Stdlib only.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

ONCE, DAILY, WEEKLY = "once", "daily", "weekly"
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def zone_names() -> list[str]:
    """Every IANA zone name zoneinfo knows, sorted (the form's choices)."""
    return sorted(available_timezones())


def zone_or_none(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name in available_timezones() else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def at(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of the wall time `wall` on `day` in `zone`."""
    return datetime.combine(day, wall.replace(fold=0), tzinfo=zone).astimezone(UTC)


def next_run(
    repeat: str,
    wall: time,
    zone: ZoneInfo,
    after: datetime,
    *,
    on_date: date | None = None,
    weekdays: Collection[int] = (),
) -> datetime | None:
    """The first start strictly after `after` (UTC), or None: a one-off already past, or a
    weekly schedule on no day."""
    if repeat == ONCE:
        when = at(on_date, wall, zone) if on_date else None
        return when if when is not None and when > after else None
    # From the day before, in the zone: an offset may put `after` on another local day.
    first = after.astimezone(zone).date() - timedelta(days=1)
    for offset in range(9):
        day = first + timedelta(days=offset)
        if repeat == WEEKLY and day.weekday() not in weekdays:
            continue
        if (when := at(day, wall, zone)) > after:
            return when
    return None


def local_label(moment: datetime, zone: ZoneInfo) -> str:
    """ "Sat 5 Dec 2026, 09:00 CET": the moment on the zone's clock, with its abbreviation."""
    local = moment.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname()}"
