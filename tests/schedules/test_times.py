"""When a schedule runs next: in its own zone, across daylight saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from egress_app.schedule_times import local_label, next_run

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


def test_it_keeps_the_wall_time_across_the_autumn_change() -> None:
    # Paris leaves summer time on Sun 25 Oct 2026: 09:00 is 07:00 UTC before, 08:00 UTC after.
    before = next_run("daily", time(9), PARIS, datetime(2026, 10, 24, 8, tzinfo=UTC))
    after = next_run("daily", time(9), PARIS, before)
    assert before == datetime(2026, 10, 25, 8, tzinfo=UTC)  # the change is at 03:00 that day
    assert after == datetime(2026, 10, 26, 8, tzinfo=UTC)
    first = next_run("daily", time(9), PARIS, datetime(2026, 10, 23, 8, tzinfo=UTC))
    assert first == datetime(2026, 10, 24, 7, tzinfo=UTC)


def test_it_runs_a_skipped_wall_time_once_after_the_spring_change() -> None:
    # New York skips 02:00-03:00 on Sun 8 Mar 2026: 02:30 runs at 03:30 EDT, once.
    when = next_run("daily", time(2, 30), NEW_YORK, datetime(2026, 3, 7, 12, tzinfo=UTC))
    assert when == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    assert local_label(when, NEW_YORK) == "Sun 8 Mar 2026, 03:30 EDT"
    assert next_run("daily", time(2, 30), NEW_YORK, when) == datetime(2026, 3, 9, 6, 30, tzinfo=UTC)


def test_it_runs_a_repeated_wall_time_once_in_the_autumn() -> None:
    # 01:30 comes twice in New York on Sun 1 Nov 2026: the schedule runs at the first.
    when = next_run("daily", time(1, 30), NEW_YORK, datetime(2026, 11, 1, 4, tzinfo=UTC))
    assert when == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert next_run("daily", time(1, 30), NEW_YORK, when) == datetime(
        2026, 11, 2, 6, 30, tzinfo=UTC
    )


def test_it_runs_weekly_on_the_chosen_days_only() -> None:
    monday = datetime(2026, 12, 7, 12, tzinfo=UTC)
    when = next_run("weekly", time(9), PARIS, monday, weekdays=[2, 4])  # Wed, Fri
    assert when == datetime(2026, 12, 9, 8, tzinfo=UTC)
    assert next_run("weekly", time(9), PARIS, monday, weekdays=[]) is None


def test_it_runs_a_one_off_once() -> None:
    day = date(2026, 12, 24)
    when = next_run("once", time(18), PARIS, datetime(2026, 12, 1, tzinfo=UTC), on_date=day)
    assert when == datetime(2026, 12, 24, 17, tzinfo=UTC)
    assert next_run("once", time(18), PARIS, when, on_date=day) is None


ZONES = st.sampled_from(["Europe/Paris", "America/New_York", "Australia/Sydney", "UTC"])
MOMENTS = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 1, 1))


@given(zone=ZONES, after=MOMENTS, wall=st.times())
def test_it_finds_the_next_daily_run_after_any_moment(
    zone: str, after: datetime, wall: time
) -> None:
    tz = ZoneInfo(zone)
    start = after.replace(tzinfo=UTC)
    when = next_run("daily", wall, tz, start)
    assert when is not None
    assert start < when <= start + timedelta(days=1, hours=2)
    local = when.astimezone(tz)
    # On the wall time, or just after it when a spring change skipped it.
    shift = datetime.combine(local.date(), local.time()) - datetime.combine(local.date(), wall)
    assert timedelta(0) <= shift <= timedelta(hours=1)
    # No run between: the day before's run (if later than `start`) would have come first.
    again = next_run("daily", wall, tz, when)
    assert again is not None
    assert again - when >= timedelta(hours=22)
