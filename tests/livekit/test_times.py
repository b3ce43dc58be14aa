"""LiveKit's Unix times as datetimes: truncated to the microsecond, exact both ways."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from egress_app.livekit import times

# From 1970 to 2200, in nanoseconds: every time LiveKit sends.
NANOSECONDS = st.integers(min_value=1, max_value=7_258_118_400 * 10**9)
MOMENTS = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)


@given(NANOSECONDS)
def test_it_truncates_nanoseconds_to_the_microsecond(ns: int) -> None:
    moment = times.from_ns(ns)
    assert moment is not None
    assert times.to_ns(moment) == times.truncated_ns(ns) == ns - ns % 1000
    assert moment.tzinfo is UTC


@given(MOMENTS)
def test_it_gives_back_the_same_datetime(moment: datetime) -> None:
    assert times.from_ns(times.to_ns(moment)) == moment
    assert times.to_us(moment) * 1000 == times.to_ns(moment)


def test_it_never_rounds_up() -> None:
    # The flaky case of issue 19: 1796412623.949334999 s is kept as ...949334, not ...949335.
    moment = times.from_ns(1_796_412_623_949_334_999)
    assert moment == datetime(2026, 12, 4, 19, 30, 23, 949_334, tzinfo=UTC)


def test_it_reads_milliseconds_and_seconds() -> None:
    assert times.from_ms(1_796_412_623_949) == datetime(
        2026, 12, 4, 19, 30, 23, 949_000, tzinfo=UTC
    )
    assert times.from_seconds(1_796_412_623) == times.EPOCH + timedelta(seconds=1_796_412_623)


def test_it_reads_zero_as_unset() -> None:
    assert times.from_ns(0) is None
    assert times.from_ms(0) is None
    assert times.from_seconds(0) is None
