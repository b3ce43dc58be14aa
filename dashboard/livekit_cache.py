"""LiveKit's answers for the Live page, shared for LIVE_CACHE_SECONDS by everyone who reads them.

Each open Live page polls every 5 s and a push makes every open one reload at once, so without
this N viewers cost LiveKit N times the page's RPCs (ListRooms, ListParticipants per room,
ListEgress). Here:

- Answers are kept in the `live` cache (Redis with REDIS_URL, so every server process shares
  them; this process's memory otherwise) per LiveKit server and API key, as the rows the page
  shows: an EgressInfo's request may carry storage credentials, its row does not, and no key or
  value holds the API secret.
- One read at a time: in a process, concurrent misses await the one read in flight; across
  processes, the first to `add` the part's lock reads and the others poll the cache for its
  answer, for at most LIVEKIT_TIMEOUT, before reading themselves.
- Failures are never kept: a failed read raises its LiveKitError (Twirp code and all) to whoever
  waited on it, and the next refresh asks LiveKit again.
- `forget()` after anything that changes what the page shows (the publisher calls it for every
  action and webhook that moves the home page), so whoever acted sees the change at once. It
  moves a generation: an answer read before it is never taken after it, even one still on its
  way when it was called.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import math
import uuid
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, cast

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import BaseCache, caches
from django.core.cache.backends.locmem import LocMemCache

from egress_app.livekit import LiveKitClient

logger = logging.getLogger(__name__)

CACHE = "live"
GENERATION = "livekit:generation"
WAIT_STEP = 0.02  # seconds between looks at the cache while another process reads

Flights = dict[tuple[str, str], asyncio.Future[Any]]
_flights: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Flights] = (
    weakref.WeakKeyDictionary()
)


@functools.cache
def _cache() -> BaseCache:
    # One per process, not Django's one per request context: under ASGI that opens a Redis
    # connection for every refresh. Both backends are safe to share between threads.
    return caches.create_connection(CACHE)


def scope(client: LiveKitClient) -> str:
    """The cache keys' prefix for one LiveKit server and API key (hashed: a URL is no key)."""
    digest = hashlib.sha256(f"{client.url}\n{client.api_key}".encode()).hexdigest()[:24]
    return f"livekit:{digest}"


async def shared[T](client: LiveKitClient, part: str, read: Callable[[], Awaitable[T]]) -> T:
    """`read()`'s answer as read by anyone within LIVE_CACHE_SECONDS, or read now, once."""
    seconds = int(settings.LIVE_CACHE_SECONDS)
    if seconds <= 0:
        return await read()
    key = f"{scope(client)}:{part}"
    generation, kept = await _kept(key)
    if kept is not None:
        return cast(T, kept[0])  # stored by this function, for this part
    flights = _flights.setdefault(asyncio.get_running_loop(), {})
    flight = flights.get((key, generation))
    if flight is None:
        flight = asyncio.ensure_future(_fill(key, generation, seconds, read))
        flights[key, generation] = flight
        flight.add_done_callback(lambda done: _landed(flights, (key, generation), done))
    # Shielded: a viewer who leaves does not cancel the read the others wait for.
    return cast(T, await asyncio.shield(flight))


def forget() -> None:
    """What was read so far is not to be shown again: LiveKit changed (one cache write, about
    60 µs of CPU with Redis; none when nothing is shared)."""
    if settings.LIVE_CACHE_SECONDS > 0:
        _cache().set(GENERATION, uuid.uuid4().hex, None)


def _landed(flights: Flights, name: tuple[str, str], done: asyncio.Future[Any]) -> None:
    flights.pop(name, None)
    if not done.cancelled():
        done.exception()  # retrieved: every waiter may have left before it failed


async def _fill[T](key: str, generation: str, seconds: int, read: Callable[[], Awaitable[T]]) -> T:
    lock = f"{key}:reading"
    wait = math.ceil(float(settings.LIVEKIT_TIMEOUT))
    ours, generation, kept = await _run(_claim, key, lock, generation, wait, failed=_UNCLAIMED)
    if not ours and kept is None:
        kept = await _wait(key, lock, generation, wait)
    if kept is not None:
        return cast(T, kept[0])
    try:
        value = await read()  # a LiveKitError leaves nothing behind
    except BaseException:
        if ours:
            await _run(_cache().delete, lock)
        raise
    await _run(_store, key, (generation, value), seconds, lock if ours else "")
    return value


_UNCLAIMED = (True, "", None)  # the cache out of reach: read LiveKit without it


def _claim(key: str, lock: str, generation: str, wait: int) -> tuple[bool, str, tuple[Any] | None]:
    """Take the lock on reading `key` (whether we did), and the answer kept now with its
    generation: whoever read before may have stored it and let go of the lock just now."""
    ours = _cache().add(lock, generation, wait)
    generation, kept = _answer(_cache().get_many([GENERATION, key]), key)
    if ours and kept is not None:
        _cache().delete(lock)
        ours = False
    return ours, generation, kept


def _store(key: str, value: tuple[str, Any], seconds: int, lock: str) -> None:
    _cache().set(key, value, seconds)
    if lock:
        _cache().delete(lock)


async def _kept(key: str) -> tuple[str, tuple[Any] | None]:
    """The generation now, and the answer kept for `key` in it (in a 1-tuple: it may be [])."""
    return _answer(await _run(_cache().get_many, [GENERATION, key], failed={}), key)


def _answer(found: dict[str, Any], key: str) -> tuple[str, tuple[Any] | None]:
    generation = found.get(GENERATION, "")
    value = found.get(key)
    return generation, (value[1],) if value is not None and value[0] == generation else None


async def _wait(key: str, lock: str, generation: str, wait: int) -> tuple[Any] | None:
    """Another process reads `key`: its answer, once stored; None if it gave up or failed,
    LiveKit changed meanwhile, or it takes longer than `wait` seconds."""
    deadline = asyncio.get_running_loop().time() + wait
    while asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(WAIT_STEP)
        found = await _run(_cache().get_many, [GENERATION, key, lock], failed={})
        now, kept = _answer(found, key)
        if kept is not None:
            return kept
        if now != generation or lock not in found:  # forgotten, or unlocked with no answer
            return None
    return None


async def _run(call: Callable[..., Any], *args: Any, failed: Any = None) -> Any:
    """The cache's answer, or `failed` when the cache cannot be reached: then every refresh
    reads LiveKit itself, as with LIVE_CACHE_SECONDS=0, rather than failing."""
    try:
        # Memory never blocks: asked in place. Redis is asked off the event loop, and not on the
        # one thread the database calls share (as Django's own async cache calls would).
        if isinstance(_cache(), LocMemCache):
            return call(*args)
        return await sync_to_async(call, thread_sensitive=False)(*args)
    except Exception as error:
        logger.warning("The Live page's shared answers are out of reach: %s", error)
        return failed
