"""The audio bus: each tap's 16 kHz mono chunks, from the web process that receives the tap to
whichever process mixes its session.

A session's taps may land on different web processes (behind a load balancer) while one process
mixes the session, so the taps publish their chunks (about 100 ms each: 3200 bytes) on the
session's bus and the session's processor reads them all, in arrival order:

- `RedisBus`: one Redis stream per session (`<prefix>:audio:<session>`), bounded (XADD with an
  approximate MAXLEN of `STREAM_ENTRIES`, a few seconds of a busy session) and expiring about a
  minute after its last chunk. Taps publish with redis-py's asyncio client, from the event loop that
  receives them; a processor reads with the blocking client, in its own thread.
- `LocalBus`: the same within one process (development, tests without Redis): a bounded queue
  per session.

A chunk carries its tap, a sequence number per tap (so a reader can count what it missed), the
samples and the tap's mute state; `end` says the tap closed. Offering a chunk never waits (for
Redis or a reader) and never raises for a full or absent bus: the oldest audio goes first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

import redis
import redis.asyncio

STREAM_ENTRIES = 600  # 3 s of 20 taps, a minute of one
STREAM_KEPT_SECONDS = 60  # an ended session's stream goes away by itself
EXPIRE_EVERY = 50  # chunks of a tap (5 s): the expiry is pushed back now and then, not each time
LOCAL_CHUNKS = 600
OUTBOX_CHUNKS = 2000  # per process: 2 s of 100 taps
TIMEOUT_SECONDS = 2.0  # a Redis that does not answer: the chunk is lost, not the tap


logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Chunk:
    tap_id: int
    seq: int
    samples: bytes  # 16 kHz mono S16LE
    muted: bool = False
    end: bool = False  # the tap closed; no samples

    def fields(self) -> dict[str, bytes]:
        return {
            "tap": str(self.tap_id).encode(),
            "seq": str(self.seq).encode(),
            "pcm": self.samples,
            "muted": b"1" if self.muted else b"0",
            "end": b"1" if self.end else b"0",
        }

    @classmethod
    def of(cls, fields: dict[bytes, bytes]) -> Chunk:
        return cls(
            tap_id=int(fields[b"tap"]),
            seq=int(fields[b"seq"]),
            samples=fields.get(b"pcm", b""),
            muted=fields.get(b"muted") == b"1",
            end=fields.get(b"end") == b"1",
        )


class Reader(Protocol):
    """One session's chunks, for its processor (one thread)."""

    def read(self, timeout: float) -> list[Chunk]:
        """What arrived since the last read, waiting up to `timeout` seconds for something
        (0: not at all)."""
        ...

    def close(self) -> None: ...


class Bus(Protocol):
    def offer(self, session_id: int, chunk: Chunk) -> None:
        """Send the chunk soon, from the event loop receiving its tap: never waits, never
        raises for the bus (a chunk it cannot carry is dropped and logged)."""
        ...

    async def publish(self, session_id: int, chunk: Chunk) -> None:
        """Send the chunk now (tests, tools)."""
        ...

    def reader(self, session_id: int) -> Reader: ...


# --- in one process ------------------------------------------------------------------------------
class LocalBus:
    def __init__(self, size: int = LOCAL_CHUNKS) -> None:
        self.size = size
        self._queues: dict[int, queue.Queue[Chunk]] = {}
        self._read: set[int] = set()  # sessions with a reader
        self._lock = threading.Lock()

    def _queue(self, session_id: int) -> queue.Queue[Chunk]:
        with self._lock:
            return self._queues.setdefault(session_id, queue.Queue(self.size))

    async def publish(self, session_id: int, chunk: Chunk) -> None:
        self.put(session_id, chunk)

    def offer(self, session_id: int, chunk: Chunk) -> None:
        self.put(session_id, chunk)

    def put(self, session_id: int, chunk: Chunk) -> None:
        chunks = self._queue(session_id)
        while True:
            try:
                chunks.put_nowait(chunk)
                return
            except queue.Full:  # nobody reads (yet): the oldest goes
                with contextlib.suppress(queue.Empty):
                    chunks.get_nowait()

    def reader(self, session_id: int) -> LocalReader:
        """The session's one reader from now on: a reader that came before (a processor on
        its way out) gets nothing more, and its close leaves this one's chunks alone."""
        with self._lock:
            chunks = self._queues.get(session_id)
            if chunks is None or session_id in self._read:
                chunks = self._queues[session_id] = queue.Queue(self.size)
            self._read.add(session_id)
        return LocalReader(self, session_id, chunks)

    def forget(self, session_id: int, chunks: queue.Queue[Chunk]) -> None:
        with self._lock:
            if self._queues.get(session_id) is chunks:
                del self._queues[session_id]
                self._read.discard(session_id)


class LocalReader:
    def __init__(self, bus: LocalBus, session_id: int, chunks: queue.Queue[Chunk]) -> None:
        self.bus, self.session_id, self.chunks = bus, session_id, chunks

    def read(self, timeout: float) -> list[Chunk]:
        try:
            first = self.chunks.get(timeout=timeout) if timeout > 0 else self.chunks.get_nowait()
        except queue.Empty:
            return []
        out = [first]
        while True:
            try:
                out.append(self.chunks.get_nowait())
            except queue.Empty:
                return out

    def close(self) -> None:
        self.bus.forget(self.session_id, self.chunks)


# --- across processes: Redis Streams -------------------------------------------------------------
class RedisBus:
    """Publishing from any event loop, in batches: each loop has its own client (redis-py's
    asyncio connections belong to the loop that opened them) and outbox, which one task sends
    as a pipeline while the next batch gathers (a command of its own per chunk cost about five
    times the CPU). Reading with blocking clients, from threads."""

    def __init__(self, url: str, prefix: str, entries: int = STREAM_ENTRIES) -> None:
        self.url, self.prefix, self.entries = url, prefix, entries
        self._outboxes: dict[int, _Outbox] = {}
        self.dropped = 0

    def key(self, session_id: int) -> str:
        return f"{self.prefix}:audio:{session_id}"

    def offer(self, session_id: int, chunk: Chunk) -> None:
        outbox = self._outbox()
        outbox.chunks.append((self.key(session_id), chunk))
        if len(outbox.chunks) > OUTBOX_CHUNKS:  # Redis slower than the taps: the oldest go
            outbox.chunks.popleft()
            self._dropped(1, "the outbox is full")
        if outbox.sending is None or outbox.sending.done():
            outbox.sending = outbox.loop.create_task(self._send(outbox))

    async def publish(self, session_id: int, chunk: Chunk) -> None:
        self.offer(session_id, chunk)
        sending = self._outbox().sending
        assert sending is not None
        await sending

    def _outbox(self) -> _Outbox:
        loop = asyncio.get_running_loop()
        outbox = self._outboxes.get(id(loop))
        if outbox is None or outbox.loop is not loop:
            client = redis.asyncio.Redis.from_url(
                self.url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
            )
            outbox = self._outboxes[id(loop)] = _Outbox(loop, client)
        return outbox

    async def _send(self, outbox: _Outbox) -> None:
        while outbox.chunks:
            batch = list(outbox.chunks)
            outbox.chunks.clear()
            try:
                async with outbox.client.pipeline(transaction=False) as pipe:
                    for key, chunk in batch:
                        pipe.xadd(key, chunk.fields(), maxlen=self.entries, approximate=True)  # type: ignore[arg-type]  # bytes values are what redis sends
                        if chunk.seq % EXPIRE_EVERY == 0 or chunk.end:
                            pipe.expire(key, STREAM_KEPT_SECONDS)
                    await pipe.execute()
            except Exception as error:  # Redis away or slow: these chunks are lost, not the taps
                self._dropped(len(batch), repr(error))

    def _dropped(self, count: int, reason: str) -> None:
        before, self.dropped = self.dropped, self.dropped + count
        if before == 0 or before // 1000 != self.dropped // 1000:  # not a line per chunk
            logger.warning(
                "Dropped audio chunks on their way to Redis (%s so far): %s", self.dropped, reason
            )

    def reader(self, session_id: int) -> RedisReader:
        client = redis.Redis.from_url(
            self.url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
        )
        return RedisReader(client, self.key(session_id))


@dataclass
class _Outbox:
    loop: asyncio.AbstractEventLoop
    client: redis.asyncio.Redis
    chunks: deque[tuple[str, Chunk]] = field(default_factory=deque)
    sending: asyncio.Task[None] | None = None


class RedisReader:
    """Reads a session's stream from what arrives after it starts: a processor taking a session
    over does not replay the audio of the one before."""

    def __init__(self, client: redis.Redis, key: str) -> None:
        self.client, self.key = client, key
        self.last_id: bytes | str | None = None

    def read(self, timeout: float) -> list[Chunk]:
        block = round(timeout * 1000) or None  # None: answer at once
        started = time.monotonic()
        # redis-py types its answers for both its clients at once; the blocking one's are lists.
        answer: Any
        try:
            if self.last_id is None:  # "$" in each XREAD would miss what came between two
                newest: Any = self.client.xrevrange(self.key, count=1)
                self.last_id = newest[0][0] if newest else "0-0"
            answer = self.client.xread({self.key: self.last_id}, block=block)
        except redis.RedisError:  # Redis away: no audio this time; the processor ticks silence
            time.sleep(max(0.0, timeout - (time.monotonic() - started)))
            return []
        chunks = []
        for _key, entries in answer or []:
            for entry_id, fields in entries:
                self.last_id = entry_id
                chunks.append(Chunk.of(fields))
        return chunks

    def close(self) -> None:
        self.client.close()
