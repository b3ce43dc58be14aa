"""Two real server processes sharing a database and Redis: a webhook received by one reaches a
browser connected to the other.

Each process is `uvicorn dashboard.asgi:application`, as deployed, on its own port; they share a
SQLite file and a Redis channel layer (REDIS_URL, or the local default, with a prefix of their
own). A support user signs in over HTTP on process B and opens the job list's websocket there;
LiveKit's signed `egress_started` for an egress nobody knows is posted to process A; B's socket
must receive the new job's row. Redis must be reachable: the test fails, never skips, without it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import redis
from livekit.api import AccessToken
from websockets.asyncio.client import connect

BASE_DIR = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
KEY, SECRET = "two-processes-key", "two-processes-secret-long-enough-for-hs256"
USERNAME, PASSWORD = "sam-support", "sam-support-two-processes"
STARTUP = 30  # seconds for a server to answer
WAIT = 20  # seconds at most for a push to cross from one process to the other


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return f"--- server {self.name} (port {self.port}) ---\n" + self.log.read_text(
            errors="replace"
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


def manage(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, f"manage.py {args[0]} failed:\n{done.stdout}\n{done.stderr}"


def wait_until_up(server: Server, others: list[Server]) -> None:
    deadline = time.monotonic() + STARTUP
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            logs = "\n".join(s.output() for s in others)
            pytest.fail(f"Server {server.name} exited with {server.process.returncode}:\n{logs}")
        try:
            # The login page: /healthz would ask LiveKit, which is not there.
            if httpx.get(f"{server.url}/login/", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"Server {server.name} did not answer within {STARTUP} s:\n{server.output()}")


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    """Processes A and B on one fresh SQLite database and one Redis prefix, with a support
    user; killed afterwards, their logs printed (shown when a test fails)."""
    require_redis()
    tmp_path = tmp_path_factory.mktemp("two-processes")
    prefix = f"egress-two-processes-{uuid.uuid4().hex[:12]}"
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "LIVEKIT_", "PYTEST_"))
    } | {
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "ENVIRONMENT": "development",
        "DEBUG": "1",
        "SECRET_KEY": f"two-processes-{uuid.uuid4().hex}",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'shared.db'}",
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": prefix,
        # The webhook path never calls LiveKit: nothing listens here.
        "LIVEKIT_URL": "http://127.0.0.1:9",
        "LIVEKIT_API_KEY": KEY,
        "LIVEKIT_API_SECRET": SECRET,
        "LOG_LEVEL": "INFO",
    }
    manage(env, "migrate", "--noinput")
    manage(
        env,
        "shell",
        "-c",
        "from django.contrib.auth.models import Group, User\n"
        f"user = User.objects.create_user({USERNAME!r}, password={PASSWORD!r})\n"
        "user.groups.add(Group.objects.get(name='support'))",
    )

    started: list[Server] = []
    try:
        for name in ("A", "B"):
            port = free_port()
            log = tmp_path / f"server-{name}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [
                        *(sys.executable, "-m", "uvicorn", "dashboard.asgi:application"),
                        *("--host", "127.0.0.1", "--port", str(port), "--lifespan", "off"),
                    ],
                    cwd=BASE_DIR,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            started.append(Server(name, port, process, log))
        for server in started:
            wait_until_up(server, started)
        yield started[0], started[1]
    finally:
        for server in started:
            server.process.terminate()
        for server in started:
            try:
                server.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait(timeout=10)
            print(server.output())
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)


def log_in(server: Server) -> dict[str, str]:
    """Sign in through the login page, as a browser does: the cookies it then holds."""
    with httpx.Client(base_url=server.url, timeout=10) as client:
        page = client.get("/login/")
        assert page.status_code == 200, page.text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert token, page.text
        answer = client.post(
            "/login/",
            data={
                "username": USERNAME,
                "password": PASSWORD,
                "csrfmiddlewaretoken": token.group(1),
            },
        )
        assert answer.status_code == 302, answer.text
        assert "sessionid" in client.cookies
        return dict(client.cookies.items())


def signed_webhook(egress_id: str) -> tuple[bytes, dict[str, str]]:
    """LiveKit's `egress_started` for `egress_id`, signed as LiveKit signs it."""
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
                "startedAt": str(now),
                "updatedAt": str(now),
                "roomComposite": {"roomName": "town-hall", "layout": "grid"},
            },
        }
    ).encode()
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    token = AccessToken(KEY, SECRET).with_ttl(timedelta(minutes=5)).with_sha256(digest).to_jwt()
    headers = {"Authorization": token, "Content-Type": "application/webhook+json"}
    return body, headers


async def push_crosses(a: Server, b: Server, *, idle: float = 0) -> None:
    """A browser on B follows the job list (for `idle` seconds with no news); LiveKit tells A
    of a new egress; B's socket gets its row."""
    cookies = log_in(b)
    egress_id = f"EG_{uuid.uuid4().hex[:12]}"
    async with connect(
        f"ws://127.0.0.1:{b.port}/ws/live/?view=jobs",
        additional_headers={
            "Origin": b.url,
            "Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items()),
        },
        open_timeout=WAIT,
    ) as websocket:
        snapshot = await asyncio.wait_for(websocket.recv(), WAIT)
        assert 'id="job-rows"' in snapshot
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
