"""The Redis pub/sub layer asked and published to from a worker thread (`dashboard.pubsub`):
what a consumer on the layer's own event loop hears must be what `group_send` would have sent,
and who follows what must be what `publisher.following` says. Real Redis throughout."""

from __future__ import annotations

import asyncio
import uuid

from channels_redis.pubsub import RedisPubSubChannelLayer
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

from dashboard import publisher, pubsub
from tests.live.test_batches import REDIS_URL, eventually


def layer(**host: object) -> RedisPubSubChannelLayer:
    hosts = [{"address": REDIS_URL, **host}] if host else [REDIS_URL]
    return RedisPubSubChannelLayer(hosts=hosts, prefix=f"test-{uuid.uuid4().hex[:8]}")


def test_a_worker_thread_sees_who_follows_as_the_event_loop_does() -> None:
    async def scenario() -> None:
        redis = layer()
        side = pubsub.thread_side(redis)
        names = {"live.jobs-all", "live.job.1", "live.home"}
        try:
            channel = await redis.new_channel()
            assert await asyncio.to_thread(side.followed, names) == set()
            await redis.group_add("live.job.1", channel)

            async def joined() -> bool:
                return await asyncio.to_thread(side.followed, names) == {"live.job.1"}

            assert await eventually(joined)
            assert await publisher.following(redis, names) == {"live.job.1"}
            await redis.group_discard("live.job.1", channel)

            async def left() -> bool:
                return await asyncio.to_thread(side.followed, names) == set()

            assert await eventually(left)
        finally:
            await redis.flush()

    asyncio.run(scenario())


def test_what_a_worker_thread_publishes_reaches_the_groups_consumers_as_group_send_would() -> None:
    async def scenario() -> None:
        redis = layer()
        side = pubsub.thread_side(redis)
        try:
            first, second = await redis.new_channel(), await redis.new_channel()
            await redis.group_add("live.jobs-all", first)
            await redis.group_add("live.job.7", second)

            async def subscribed() -> bool:
                wanted = {"live.jobs-all", "live.job.7"}
                return await asyncio.to_thread(side.followed, wanted) == wanted

            assert await eventually(subscribed)
            row = {"type": "live.fragment", "html": "<tr id='job-7'>…</tr>"}
            page = {"type": "live.fragment", "html": "<div>ünïcode</div>", "private": None}
            await asyncio.to_thread(side.publish, [("live.jobs-all", row), ("live.job.7", page)])
            assert await asyncio.wait_for(redis.receive(first), 5) == row
            assert await asyncio.wait_for(redis.receive(second), 5) == page
            # And the same bytes as the layer's own group_send.
            await redis.group_send("live.jobs-all", row)
            assert await asyncio.wait_for(redis.receive(first), 5) == row
        finally:
            await redis.flush()

    asyncio.run(scenario())


def test_the_thread_side_keeps_the_layers_retry_policy_for_its_own_client() -> None:
    retry = AsyncRetry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))
    side = pubsub.ThreadSide(layer(socket_timeout=30, retry=retry))
    kwargs = side.shards[0].connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] == 30
    assert isinstance(kwargs["retry"], Retry)
    assert kwargs["retry"]._retries == 1
    assert kwargs["retry"]._supported_errors == (RedisConnectionError,)


def test_the_thread_side_reads_each_form_of_host_channels_redis_takes() -> None:
    by_pair = RedisPubSubChannelLayer(hosts=[("127.0.0.1", 6379)], prefix="test-pair")
    by_kwargs = RedisPubSubChannelLayer(hosts=[{"host": "127.0.0.1", "port": 6379}])
    assert pubsub.ThreadSide(by_pair).prefix == "test-pair"
    assert pubsub.ThreadSide(by_kwargs).prefix == "asgi"  # channels_redis's default
    for made in (by_pair, by_kwargs):
        assert pubsub.ThreadSide(made).followed({"live.nobody"}) == set()


def test_a_layer_out_of_reach_from_the_thread_takes_every_group_as_followed() -> None:
    unreachable = RedisPubSubChannelLayer(hosts=["redis://127.0.0.1:1/0"], prefix="test-down")
    names = {"live.jobs-all", "live.home"}
    assert publisher._following_now(unreachable, names) == names
