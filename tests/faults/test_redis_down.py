"""Redis stopped and started again under a running server.

Redis only carries pushes to browsers: webhooks must still be recorded and pages must still load
while it is down (the page's polled fragment is how a browser keeps up: static/js/app.js polls
whenever its websocket is closed), and once Redis is back a browser that reconnects gets the
missed state in its snapshot and pushes again, as does a socket that stayed open.

The machine's Redis is shared, so the test runs a private `redis-server` on a free port in a
temporary directory, and SIGKILLs that one.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from websockets.asyncio.client import ClientConnection

from tests.servers import (
    Server,
    follow_jobs,
    free_port,
    fresh_site,
    log_in,
    new_egress_id,
    serving,
    signed_webhook,
)

pytestmark = pytest.mark.slow

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
WAIT = 10  # seconds for a push, a page or Redis itself


@dataclass
class PrivateRedis:
    """A redis-server of this test's own: nothing saved, on one port for all its runs."""

    directory: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                *(REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=1)
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.directory / "redis.log").read_text()
            try:
                client.ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        pytest.fail(f"redis-server did not answer on port {self.port} within {WAIT} s")

    def wait_until_unsubscribed(self) -> None:
        """Until no server process follows any group (every page closed)."""
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=1)
        deadline = time.monotonic() + WAIT
        while client.pubsub_channels():
            assert time.monotonic() < deadline, f"still followed: {client.pubsub_channels()}"
            time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=WAIT)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which(REDIS_SERVER) is None:
        pytest.skip(f"redis-server is not installed ({REDIS_SERVER}): no private Redis to stop")
    directory = tmp_path / "redis"
    directory.mkdir()
    running = PrivateRedis(directory, free_port())
    running.start()
    try:
        yield running
    finally:
        running.kill()


@pytest.fixture
def server(tmp_path: Path, private_redis: PrivateRedis) -> Iterator[Server]:
    with fresh_site(tmp_path, REDIS_URL=private_redis.url, REDIS_PREFIX="egress-faults") as env:
        running = Server(env, tmp_path / "server.log")
        with serving(running):
            yield running


def post_webhook(server: Server, egress_id: str) -> httpx.Response:
    """LiveKit's signed `egress_started` for a new egress."""
    body, headers = signed_webhook(egress_id)
    return httpx.post(f"{server.url}/livekit/webhook", content=body, headers=headers, timeout=WAIT)


async def pushed(websocket: ClientConnection, server: Server, egress_id: str) -> str:
    """What the socket receives after LiveKit tells the server of `egress_id`."""
    answer = await asyncio.to_thread(post_webhook, server, egress_id)
    assert (answer.status_code, answer.text) == (200, "ok")
    return str(await asyncio.wait_for(websocket.recv(), WAIT))


async def test_it_records_webhooks_and_serves_pages_while_redis_is_down_then_pushes_again(
    server: Server, private_redis: PrivateRedis
) -> None:
    cookies = await asyncio.to_thread(log_in, server)
    pages = httpx.AsyncClient(base_url=server.url, cookies=cookies, timeout=WAIT)
    kept, _ = await follow_jobs(server, cookies, WAIT)  # open all along
    egress_id = new_egress_id()
    assert egress_id in await pushed(kept, server, egress_id)

    await asyncio.to_thread(private_redis.kill)
    missed = new_egress_id()
    answer = await asyncio.to_thread(post_webhook, server, missed)
    assert (answer.status_code, answer.text) == (200, "ok")  # recorded; only its push is lost
    for url in ("/jobs/", "/jobs/rows/"):  # the page, and the fragment it polls meanwhile
        page = await pages.get(url)
        assert page.status_code == 200, page.text
        assert missed in page.text

    await asyncio.to_thread(private_redis.start)
    # The page's websocket reconnects: its snapshot brings what it missed, then pushes flow.
    websocket, snapshot = await follow_jobs(server, cookies, WAIT)
    assert missed in snapshot
    egress_id = new_egress_id()
    assert egress_id in await pushed(websocket, server, egress_id)
    # The socket that stayed open through it all gets pushes again too (not the lost one).
    frame = str(await asyncio.wait_for(kept.recv(), WAIT))
    assert egress_id in frame
    assert missed not in frame
    await websocket.close()
    await kept.close()
    await pages.aclose()


async def test_it_accepts_and_pushes_to_the_first_websocket_after_redis_restarts(
    server: Server, private_redis: PrivateRedis
) -> None:
    # No page open while Redis is away: the server's subscriber connection sits idle, broken,
    # and the first websocket afterwards is the first to use it.
    cookies = await asyncio.to_thread(log_in, server)
    websocket, _ = await follow_jobs(server, cookies, WAIT)
    egress_id = new_egress_id()
    assert egress_id in await pushed(websocket, server, egress_id)
    await websocket.close()
    await asyncio.to_thread(private_redis.wait_until_unsubscribed)

    await asyncio.to_thread(private_redis.kill)
    answer = await asyncio.to_thread(post_webhook, server, new_egress_id())
    assert (answer.status_code, answer.text) == (200, "ok")
    await asyncio.to_thread(private_redis.start)

    websocket, _ = await follow_jobs(server, cookies, WAIT)
    egress_id = new_egress_id()
    assert egress_id in await pushed(websocket, server, egress_id)
    await websocket.close()
