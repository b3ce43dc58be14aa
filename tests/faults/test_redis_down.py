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
import json
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from websockets.asyncio.client import ClientConnection, connect

from egress_app.sandbox.webhooks import CONTENT_TYPE, sign
from tests.faults.servers import (
    KEY,
    SECRET,
    Server,
    free_port,
    fresh_database,
    log_in,
    prepare,
    server_env,
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
    with fresh_database(tmp_path) as database_url:
        env = server_env(database_url, REDIS_URL=private_redis.url, REDIS_PREFIX="egress-faults")
        prepare(env)
        running = Server(env, tmp_path / "server.log")
        running.start()
        try:
            running.wait_until_up()
            yield running
        finally:
            running.stop()
            print(running.output())


def post_webhook(server: Server, egress_id: str) -> httpx.Response:
    """LiveKit's signed `egress_started` for a new egress."""
    now = time.time_ns()
    body = json.dumps(
        {
            "event": "egress_started",
            "id": f"EV_{egress_id}",
            "createdAt": str(now // 1_000_000_000),
            "egressInfo": {
                "egressId": egress_id,
                "roomName": "town-hall",
                "status": "EGRESS_STARTING",
                "updatedAt": str(now),
                "roomComposite": {"roomName": "town-hall", "layout": "grid"},
            },
        }
    )
    headers = {"Authorization": sign(body, KEY, SECRET), "Content-Type": CONTENT_TYPE}
    return httpx.post(f"{server.url}/livekit/webhook", content=body, headers=headers, timeout=WAIT)


def new_egress_id() -> str:
    return f"EG_{uuid.uuid4().hex[:12]}"


async def follow_jobs(server: Server, cookies: dict[str, str]) -> tuple[ClientConnection, str]:
    """A browser's websocket on the job list, and the snapshot it got."""
    websocket = await connect(
        f"ws://127.0.0.1:{server.port}/ws/live/?view=jobs",
        additional_headers={
            "Origin": server.url,
            "Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items()),
        },
        open_timeout=WAIT,
    )
    snapshot = await asyncio.wait_for(websocket.recv(), WAIT)
    assert 'id="job-rows"' in str(snapshot)
    return websocket, str(snapshot)


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
    kept, _ = await follow_jobs(server, cookies)  # open all along
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
    websocket, snapshot = await follow_jobs(server, cookies)
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
    websocket, _ = await follow_jobs(server, cookies)
    egress_id = new_egress_id()
    assert egress_id in await pushed(websocket, server, egress_id)
    await websocket.close()
    await asyncio.to_thread(private_redis.wait_until_unsubscribed)

    await asyncio.to_thread(private_redis.kill)
    answer = await asyncio.to_thread(post_webhook, server, new_egress_id())
    assert (answer.status_code, answer.text) == (200, "ok")
    await asyncio.to_thread(private_redis.start)

    websocket, _ = await follow_jobs(server, cookies)
    egress_id = new_egress_id()
    assert egress_id in await pushed(websocket, server, egress_id)
    await websocket.close()
