"""A session's processor: its taps' chunks from the bus, mixed in 100 ms ticks, measured, and
handed to every sink (a failing sink is dropped, never the others)."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

import numpy as np

from egress_app.audio.bus import Chunk, LocalBus
from egress_app.audio.levels import FLOOR_DBFS, VoiceState
from egress_app.audio.mixer import Tick
from egress_app.audio.processor import TRACK_IDLE_SECONDS, MixReading, SessionProcessor


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Keeper:
    """A sink that keeps what it is given."""

    def __init__(self) -> None:
        self.ticks: list[Tick] = []
        self.closed: list[bool] = []

    def write(self, tick: Tick) -> None:
        self.ticks.append(tick)

    def close(self, *, ended: bool) -> None:
        self.closed.append(ended)


class Broken(Keeper):
    def write(self, tick: Tick) -> None:
        raise OSError("disk full")


def tone(seq: int, frequency: float, amplitude: float = 8000) -> bytes:
    t = (np.arange(1600) + seq * 1600) / 16_000
    return (amplitude * np.sin(2 * math.pi * frequency * t)).astype("<i2").tobytes()


def chunks(tap: int, seqs: range, frequency: float) -> list[Chunk]:
    return [Chunk(tap, seq, tone(seq, frequency)) for seq in seqs]


def processor(
    *sinks: Keeper, clock: Callable[[], float] | None = None
) -> tuple[SessionProcessor, LocalBus, list[MixReading]]:
    bus, readings = LocalBus(), []
    made = SessionProcessor(bus.reader(1), list(sinks), readings.append, clock or Clock())
    return made, bus, readings


def test_it_mixes_two_taps_and_its_meter_moves() -> None:
    keeper = Keeper()
    made, _bus, readings = processor(keeper)
    made.tick()  # nobody yet: silence
    made.take(chunks(11, range(3), 300) + chunks(12, range(3), 500))

    ticks = [made.tick() for _ in range(3)]

    assert readings[0].rms_dbfs == FLOOR_DBFS
    assert readings[0].tracks == 0
    assert [reading.tracks for reading in readings[1:]] == [2, 2, 2]
    assert all(reading.rms_dbfs > -30 for reading in readings[1:])
    assert readings[-1].state == VoiceState.SPEAKING
    assert set(ticks[0].tracks) == {"11", "12"}
    both = ticks[0].tracks["11"].astype(np.int32) + ticks[0].tracks["12"]
    assert np.corrcoef(ticks[0].mix, both)[0, 1] > 0.99
    assert [tick.index for tick in keeper.ticks] == [0, 1, 2, 3]


def test_a_failing_sink_is_dropped_and_the_others_keep_going() -> None:
    broken, keeper = Broken(), Keeper()
    made, _bus, _readings = processor(broken, keeper)
    made.take(chunks(11, range(2), 300))

    made.tick()
    made.tick()

    assert made.sinks == [keeper]
    assert broken.closed == [False]
    assert len(keeper.ticks) == 2
    made.close(ended=True)
    assert keeper.closed == [True]


def test_a_tap_leaves_with_its_end_or_when_it_goes_quiet() -> None:
    clock = Clock()
    made, _bus, readings = processor(clock=clock)
    made.take(chunks(11, range(1), 300) + chunks(12, range(1), 500))
    made.take([Chunk(11, 1, b"", end=True)])
    made.tick()
    assert readings[-1].tracks == 2  # 11 is heard until what it sent runs out
    made.tick()
    assert readings[-1].tracks == 1

    clock.now += TRACK_IDLE_SECONDS + 0.1  # 12's web process died: no end comes
    made.tick()
    made.tick()

    assert readings[-1].tracks == 0


def test_it_counts_chunks_the_bus_lost() -> None:
    made, _bus, _readings = processor()

    made.take([Chunk(11, 0, tone(0, 300)), Chunk(11, 3, tone(3, 300))])

    assert made.missed == 2


def test_it_ticks_on_the_wall_clock_reading_the_bus_between() -> None:
    keeper = Keeper()
    made, bus, readings = processor(keeper, clock=time.monotonic)

    async def publish() -> None:
        for chunk in chunks(11, range(5), 300):
            await bus.publish(1, chunk)

    asyncio.run(publish())
    steps = 0

    def keep_going() -> bool:
        nonlocal steps
        steps += 1
        return steps < 5

    made.run(keep_going, check_every=0.0)

    assert len(keeper.ticks) == 5
    assert all(reading.tracks == 1 for reading in readings)
