"""Two real server processes sharing a database and Redis: a webhook received by one reaches a
browser connected to the other.

Each process is `uvicorn dashboard.asgi:application`, as deployed, on its own port
(tests/servers.py); they share one fresh database and a Redis channel layer (REDIS_URL, or the
local default, with a prefix of their own). A support user signs in over HTTP on process B and
opens the job list's websocket there; LiveKit's signed `egress_started` for an egress nobody
knows is posted to process A; B's socket must receive the new job's row. Redis must be
reachable: the test fails, never skips, without it.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis

from tests.servers import (
    Server,
    follow_jobs,
    fresh_site,
    log_in,
    new_egress_id,
    serving,
    signed_webhook,
)

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
WAIT = 20  # seconds at most for a push to cross from one process to the other


def require_redis() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError as error:
        pytest.fail(
            f"Redis is not reachable at {REDIS_URL} ({error}). This test proves that live updates "
            "cross server processes through Redis: start Redis (e.g. `redis-server --port 6379`) "
            "or point REDIS_URL at one.",
            pytrace=False,
        )


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    """Processes A and B on one fresh database and one Redis prefix, with a support user;
    stopped afterwards, their logs printed (shown when a test fails)."""
    require_redis()
    tmp_path = tmp_path_factory.mktemp("two-processes")
    prefix = f"egress-two-processes-{uuid.uuid4().hex[:12]}"
    try:
        extra = {"REDIS_URL": REDIS_URL, "REDIS_PREFIX": prefix, "LOG_LEVEL": "INFO"}
        with fresh_site(tmp_path, **extra) as env:
            a, b = (Server(env, tmp_path / f"server-{name}.log", access_log=True) for name in "AB")
            with serving(a, b):
                yield a, b
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)


async def push_crosses(a: Server, b: Server, *, idle: float = 0) -> None:
    """A browser on B follows the job list (for `idle` seconds with no news); LiveKit tells A
    of a new egress; B's socket gets its row."""
    cookies = log_in(b)
    assert "sessionid" in cookies
    egress_id = new_egress_id()
    websocket, snapshot = await follow_jobs(b, cookies, WAIT)
    async with websocket:
        assert egress_id not in snapshot
        await asyncio.sleep(idle)

        body, headers = signed_webhook(egress_id)
        async with httpx.AsyncClient(base_url=a.url, timeout=WAIT) as client:
            answer = await client.post("/livekit/webhook", content=body, headers=headers)
        assert (answer.status_code, answer.text) == (200, "ok")

        pushed = await asyncio.wait_for(websocket.recv(), WAIT)
        assert egress_id in pushed
        assert 'hx-swap-oob="afterbegin:#job-rows[data-first-page]"' in pushed

    # Process A handled the webhook; process B pushed its row without ever seeing it.
    assert "POST /livekit/webhook" in a.log.read_text()
    assert "POST /livekit/webhook" not in b.log.read_text()


async def test_it_pushes_a_webhook_received_by_one_process_to_a_browser_on_another(servers):
    await push_crosses(*servers)


async def test_it_keeps_a_socket_that_waited_a_while_for_news(servers):
    # Longer than two of the channel layer's blocking reads (5 s each) with nothing to read.
    await push_crosses(*servers, idle=11)
