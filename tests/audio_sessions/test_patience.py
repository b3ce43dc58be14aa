"""The audio endpoint asks the database again while it is busy: egress dials only once, and a
refused connection ends its egress for good (egress/pkg/pipeline/sink/websocket.go)."""

from __future__ import annotations

import pytest
from django.db import OperationalError

from egress_app import taps

# channels' database_sync_to_async tidies the thread's connection before each call.
pytestmark = pytest.mark.django_db


class Busy:
    """The database answers "locked" `times` times, then the answer."""

    def __init__(self, times: int) -> None:
        self.times = times
        self.calls = 0

    def __call__(self, tap_id: int) -> str:
        self.calls += 1
        if self.calls <= self.times:
            raise OperationalError("database table is locked: egress_app_audiotap")
        return f"checked {tap_id}"


async def test_it_asks_again_while_the_database_is_busy():
    busy = Busy(times=2)

    assert await taps._patiently(busy, 7) == "checked 7"
    assert busy.calls == 3


async def test_it_gives_up_when_the_database_stays_busy():
    busy = Busy(times=taps.CHECK_TRIES)

    with pytest.raises(OperationalError):
        await taps._patiently(busy, 7)
    assert busy.calls == taps.CHECK_TRIES
