"""The live sockets of this process by group: one channel-layer subscription per group per
process, each push received once and handed to every local socket in the group.

Channels' own way gives every consumer a channel of its own in the group, so a push costs once
per socket what it need cost once per process: the layer queues a copy for each consumer (the
Redis layer deserializes each), and each consumer's dispatch loop wakes, waits on its tasks and
makes a new one before its frame goes out. Here the process joins a group with a channel of its
own when the first of its sockets follows the group, and leaves it with the last. With the
pushes sent past channels' session middleware (ServerSend below) and without permessage-deflate,
a socket's share of a push went from 94 µs of server CPU to about 15 (bench/webhooks.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from typing import Any, Protocol

from channels.layers import BaseChannelLayer, get_channel_layer

logger = logging.getLogger(__name__)


class Follower(Protocol):
    """A socket that follows groups: each message sent to them comes to its `relay`."""

    def relay(self, message: dict[str, Any]) -> Coroutine[Any, Any, None]: ...


class _Group:
    """A group this process follows: its channel, and the task relaying what comes on it."""

    def __init__(self, layer: BaseChannelLayer, name: str) -> None:
        self.layer, self.name = layer, name
        self.followers: dict[Follower, None] = {}  # a set kept in joining order
        self.channel = ""
        self.relay: asyncio.Task[None] | None = None
        # A task, so that sockets joining meanwhile wait for the same subscription.
        self.joined = asyncio.ensure_future(self._join())

    async def _join(self) -> None:
        self.channel = await self.layer.new_channel("fanout.")
        await self.layer.group_add(self.name, self.channel)
        self.relay = asyncio.ensure_future(self._relay())

    async def _relay(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except Exception:  # the group's sockets would hear nothing more: keep listening
                logger.exception("Could not receive group %s's pushes", self.name)
                await asyncio.sleep(1.0)
                continue
            for follower in list(self.followers):
                _start(loop, follower.relay(message))

    async def leave(self) -> None:
        with contextlib.suppress(Exception):  # a failed join has nothing to leave
            await asyncio.shield(self.joined)
        if self.relay is not None:
            self.relay.cancel()
            await asyncio.wait([self.relay])  # its own clean-up (the layer unsubscribes)
        if self.channel:
            await self.layer.group_discard(self.name, self.channel)


_sending: set[asyncio.Task[None]] = set()  # sends waiting on a slow socket, kept until done


def _start(loop: asyncio.AbstractEventLoop, relayed: Coroutine[Any, Any, None]) -> None:
    """Run a socket's handler now, up to its first wait: a frame to a socket that takes it is
    written before the next socket's turn, with no task scheduled. A socket whose buffer is full
    waits on its own (uvicorn resumes its waiting sends in order), not holding up the others."""
    task = asyncio.Task(relayed, loop=loop, eager_start=True)
    if task.done():
        _finished(task)
        return
    _sending.add(task)
    task.add_done_callback(_finished)


def _finished(task: asyncio.Task[None]) -> None:
    _sending.discard(task)
    if task.cancelled() or (error := task.exception()) is None:
        return
    if isinstance(error, OSError):  # the socket closed meanwhile: its consumer leaves shortly
        logger.debug("A live push found its socket closed: %s", error)
        return
    logger.error("A live socket failed to relay a push", exc_info=error)


_groups: dict[asyncio.AbstractEventLoop, dict[str, _Group]] = {}


def _local() -> dict[str, _Group]:
    """This event loop's groups (one loop per server process; a test may run several)."""
    loop = asyncio.get_running_loop()
    if loop not in _groups:
        for closed in [known for known in _groups if known.is_closed()]:
            del _groups[closed]
        _groups[loop] = {}
    return _groups[loop]


async def follow(name: str, follower: Follower) -> None:
    """Relay the group's messages to `follower` from the moment this returns."""
    layer = get_channel_layer()
    if layer is None:
        return
    groups = _local()
    group = groups.get(name)
    if group is None:
        group = groups[name] = _Group(layer, name)
    group.followers[follower] = None
    try:
        await asyncio.shield(group.joined)
    except Exception:
        if groups.get(name) is group:  # the next socket tries again
            del groups[name]
        raise


async def unfollow(name: str, follower: Follower) -> None:
    """Stop relaying the group to `follower`; the process leaves the group with its last one."""
    groups = _local()
    group = groups.get(name)
    if group is None or follower not in group.followers:
        return
    del group.followers[follower]
    if group.followers:
        return
    del groups[name]
    await group.leave()


# --- the server's own send -----------------------------------------------------------------------
SERVER_SEND = "dashboard.server_send"  # the scope's key for it
Scope = MutableMapping[str, Any]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class ServerSend:
    """ASGI middleware, outside channels' session middleware: keeps the server's own `send` in
    the scope for the pushes. The session middleware wraps `send` to save a changed session on
    an HTTP response, a check (the lazy session's `modified` and `is_empty()`) that every
    websocket frame paid for and that never applies to one."""

    def __init__(self, inner: Callable[..., Awaitable[None]]) -> None:
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Any, send: Send) -> None:
        await self.inner({**scope, SERVER_SEND: send}, receive, send)
