"""The audio bus carries each tap's 16 kHz chunks to the session's processor: in one process, or
across processes through a bounded Redis stream (run only with REDIS_URL, as CI does)."""

from __future__ import annotations

import asyncio
import os
import uuid

import numpy as np
import pytest
import redis

from egress_app.audio.bus import Chunk, LocalBus, RedisBus

REDIS_URL = os.environ.get("REDIS_URL", "")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (CI sets it)")


def _chunk(tap: int, seq: int, *, muted: bool = False, end: bool = False) -> Chunk:
    samples = b"" if end else np.full(1600, seq, dtype="<i2").tobytes()
    return Chunk(tap, seq, samples, muted, end)


def _publish(bus: LocalBus | RedisBus, session: int, chunks: list[Chunk]) -> None:
    async def publish() -> None:
        for chunk in chunks:
            await bus.publish(session, chunk)

    asyncio.run(publish())


def test_it_carries_chunks_in_one_process_in_order() -> None:
    bus = LocalBus()
    reader = bus.reader(7)
    sent = [_chunk(1, 0), _chunk(2, 0, muted=True), _chunk(1, 1), _chunk(1, 2, end=True)]

    _publish(bus, 7, sent)

    assert reader.read(timeout=1) == sent
    assert reader.read(timeout=0.01) == []


def test_it_keeps_only_the_newest_chunks_when_nobody_reads() -> None:
    bus = LocalBus(size=3)

    _publish(bus, 7, [_chunk(1, seq) for seq in range(5)])

    assert [chunk.seq for chunk in bus.reader(7).read(timeout=1)] == [2, 3, 4]


def test_a_new_reader_takes_over_from_one_on_its_way_out() -> None:
    bus = LocalBus()
    old = bus.reader(7)
    new = bus.reader(7)

    old.close()
    _publish(bus, 7, [_chunk(1, 0)])

    assert [chunk.seq for chunk in new.read(timeout=1)] == [0]
    assert old.read(timeout=0.01) == []


def test_it_keeps_sessions_apart() -> None:
    bus = LocalBus()
    _publish(bus, 1, [_chunk(1, 0)])
    _publish(bus, 2, [_chunk(2, 0)])

    assert [chunk.tap_id for chunk in bus.reader(2).read(timeout=1)] == [2]


@pytest.fixture
def redis_bus() -> RedisBus:
    bus = RedisBus(REDIS_URL, f"egress-test-{uuid.uuid4().hex[:8]}", entries=50)
    yield bus
    client = redis.Redis.from_url(REDIS_URL)
    client.delete(*client.keys(f"{bus.prefix}:*") or [f"{bus.prefix}:none"])
    client.close()


@needs_redis
def test_it_carries_chunks_through_a_redis_stream(redis_bus: RedisBus) -> None:
    reader = redis_bus.reader(7)
    assert reader.read(timeout=0.05) == []  # reads from now on
    sent = [_chunk(1, 0), _chunk(2, 0, muted=True), _chunk(1, 1), _chunk(1, 2, end=True)]

    _publish(redis_bus, 7, sent)

    assert reader.read(timeout=1) == sent
    assert reader.read(timeout=0.05) == []
    reader.close()


@needs_redis
def test_it_bounds_the_stream_and_lets_it_expire(redis_bus: RedisBus) -> None:
    _publish(redis_bus, 7, [_chunk(1, seq) for seq in range(500)])

    client = redis.Redis.from_url(REDIS_URL)
    key = redis_bus.key(7)
    assert key.startswith(f"{redis_bus.prefix}:audio:")
    # MAXLEN ~ trims whole macro nodes (100 entries by default): about the bound, never all.
    assert 50 <= client.xlen(key) <= 200
    assert 0 < client.ttl(key) <= 60
    client.close()


@needs_redis
def test_a_reader_taking_over_starts_from_the_present(redis_bus: RedisBus) -> None:
    _publish(redis_bus, 7, [_chunk(1, 0), _chunk(1, 1)])
    reader = redis_bus.reader(7)
    reader.read(timeout=0.05)

    _publish(redis_bus, 7, [_chunk(1, 2)])

    assert [chunk.seq for chunk in reader.read(timeout=1)] == [2]
    reader.close()


def test_an_unreachable_redis_loses_chunks_never_the_tap(closed_port_url: str) -> None:
    bus = RedisBus(closed_port_url.replace("http", "redis", 1) + "/0", "egress-test")

    async def offer() -> None:
        for seq in range(3):
            bus.offer(7, _chunk(1, seq))  # returns at once, raises nothing
        await bus.publish(7, _chunk(1, 3))

    asyncio.run(offer())

    assert bus.dropped == 4


@needs_redis
def test_it_sends_many_taps_chunks_in_order_in_batches(redis_bus: RedisBus) -> None:
    reader = redis_bus.reader(7)
    reader.read(timeout=0.05)
    sent = [_chunk(tap, seq) for seq in range(15) for tap in (1, 2, 3)]  # within the bound

    async def offer() -> None:
        for chunk in sent[:-1]:
            redis_bus.offer(7, chunk)
        await redis_bus.publish(7, sent[-1])

    asyncio.run(offer())

    assert reader.read(timeout=1) == sent
    reader.close()
