"""The Redis pub/sub channel layer asked and published to from a worker thread.

A webhook batch is written in a worker thread, and its push went back to the event loop twice
(who follows, then the sends): each hop waits for the loop, which is busy answering the next
webhooks. Here the same Redis commands go from the thread itself on a client of its own, in one
round trip each: `PUBSUB NUMSUB` for the groups' channels, then every `PUBLISH` in one pipeline.
The channel names, shards and message bytes are channels_redis's own (4.x, `pubsub.py`:
`_get_group_channel_name`, `_get_shard`, `group_send`), so consumers cannot tell the difference.
"""

from __future__ import annotations

import inspect
import threading
import weakref
from collections.abc import Iterable, Mapping
from typing import Any

import redis
from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer
from channels_redis.utils import _consistent_hash, decode_hosts
from redis.asyncio.retry import Retry as AsyncRetry
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelConnectionPool


class ThreadSide:
    """One channel layer's groups, asked and published to from any thread."""

    def __init__(self, layer: RedisPubSubChannelLayer) -> None:
        # The loop layer's own arguments, as channels_redis takes them.
        bound = inspect.signature(RedisPubSubLoopLayer).bind(*layer._args, **layer._kwargs)
        bound.apply_defaults()
        self.prefix: str = bound.arguments["prefix"]
        self.serialize = layer.serialize
        self.shards = [_client(host) for host in decode_hosts(bound.arguments["hosts"])]

    def channel(self, group: str) -> str:
        return f"{self.prefix}__group__{group}"

    def followed(self, groups: Iterable[str]) -> set[str]:
        """Which of these groups some process subscribes to (one of its consumers joined it)."""
        by_shard: dict[int, dict[str, str]] = {}
        for group in groups:
            channel = self.channel(group)
            by_shard.setdefault(_consistent_hash(channel, len(self.shards)), {})[channel] = group
        followed = set()
        for shard, channels in by_shard.items():
            for name, count in self.shards[shard].pubsub_numsub(*channels):
                if count:
                    followed.add(channels[name.decode() if isinstance(name, bytes) else name])
        return followed

    def publish(self, messages: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
        """Send each message to its group, as `group_send` would: one pipeline a shard."""
        pipelines: dict[int, Any] = {}
        for group, message in messages:
            channel = self.channel(group)
            shard = _consistent_hash(channel, len(self.shards))
            if shard not in pipelines:
                pipelines[shard] = self.shards[shard].pipeline(transaction=False)
            pipelines[shard].publish(channel, self.serialize(message))
        for pipeline in pipelines.values():
            pipeline.execute()


def _client(host: Mapping[str, Any]) -> redis.Redis:
    """A thread-safe client for one of the layer's hosts, made as channels_redis makes its
    asyncio pool (`utils.create_pool`), with the same retry policy."""
    kwargs = dict(host)
    if isinstance(retry := kwargs.get("retry"), AsyncRetry):
        kwargs["retry"] = Retry(retry._backoff, retry._retries, retry._supported_errors)
    if "address" in kwargs:
        return redis.Redis(
            connection_pool=redis.ConnectionPool.from_url(kwargs.pop("address"), **kwargs)
        )
    if (master := kwargs.pop("master_name", None)) is not None:
        sentinel = Sentinel(
            kwargs.pop("sentinels"), sentinel_kwargs=kwargs.pop("sentinel_kwargs", None)
        )
        return redis.Redis(connection_pool=SentinelConnectionPool(master, sentinel, **kwargs))
    return redis.Redis(connection_pool=redis.ConnectionPool(**kwargs))


_sides: weakref.WeakKeyDictionary[RedisPubSubChannelLayer, ThreadSide] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def thread_side(layer: RedisPubSubChannelLayer) -> ThreadSide:
    """The layer's thread side, made once per process."""
    with _lock:
        if (side := _sides.get(layer)) is None:
            side = _sides[layer] = ThreadSide(layer)
        return side
