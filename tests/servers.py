"""Real server processes for the fault and two-process tests: `uvicorn dashboard.asgi:application`,
as deployed, on a database of their own (shared by every process a test starts on it), that a
test may SIGKILL and start again on the same port.

The test database pytest-django makes is not visible to another process, so the servers get a
fresh one: a SQLite file in a temporary directory, or, when the suite runs on PostgreSQL
(DATABASE_URL), a dedicated database on that server, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from egress_app.sandbox.webhooks import CONTENT_TYPE, sign

BASE_DIR = Path(__file__).resolve().parents[1]
KEY, SECRET = "servers-key", "servers-secret-long-enough-for-hs256-signatures"
USERNAME, PASSWORD = "sam-support", "sam-support-servers"
STARTUP = 30  # seconds for a server to answer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def fresh_database(directory: Path) -> Iterator[str]:
    """The DATABASE_URL of an empty database for server processes, dropped afterwards."""
    outer = os.environ.get("DATABASE_URL", "")
    if not outer.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{directory / 'servers.db'}"
        return
    import psycopg

    parts = urlsplit(outer)
    name = f"{parts.path.lstrip('/') or 'egress'}_servers_{uuid.uuid4().hex[:8]}"
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a production-like server: this one's, without the test settings."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "LIVEKIT_", "PYTEST_", "REDIS_", "DATABASE_"))
    }
    return (
        inherited
        | {
            "DJANGO_SETTINGS_MODULE": "dashboard.settings",
            "ENVIRONMENT": "development",
            # Plain HTTP on loopback: outside DEBUG the session cookie is for HTTPS only.
            "DEBUG": "1",
            "SECRET_KEY": f"servers-{uuid.uuid4().hex}",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database_url,
            # Nothing listens here: the webhook path and the pages read never call LiveKit.
            "LIVEKIT_URL": "http://127.0.0.1:9",
            "LIVEKIT_API_KEY": KEY,
            "LIVEKIT_API_SECRET": SECRET,
            "LOG_LEVEL": "WARNING",
        }
        | extra
    )


def manage(env: dict[str, str], *args: str) -> str:
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
    return done.stdout


def django_json(env: dict[str, str], code: str) -> Any:
    """What `code` (run in `manage.py shell` against the server's database) prints as JSON on
    its last line."""
    return json.loads(manage(env, "shell", "-c", code).strip().splitlines()[-1])


def prepare(env: dict[str, str]) -> None:
    """The database migrated, with a support user who may sign in."""
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(
        env,
        "shell",
        "-c",
        "from django.contrib.auth.models import Group, User\n"
        f"user = User.objects.create_user({USERNAME!r}, password={PASSWORD!r})\n"
        "user.groups.add(Group.objects.get(name='support'))",
    )


@contextmanager
def fresh_site(directory: Path, **extra: str) -> Iterator[dict[str, str]]:
    """The environment of servers on a fresh, prepared database (see `prepare`), dropped
    afterwards; `extra` adds to or overrides `server_env`'s."""
    with fresh_database(directory) as database_url:
        env = server_env(database_url, **extra)
        prepare(env)
        yield env


@dataclass
class Server:
    """One uvicorn process at a time on a fixed port; every run's output goes to `log`, the
    access log too when `access_log`."""

    env: dict[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    access_log: bool = False
    process: subprocess.Popen[bytes] | None = None
    runs: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        self.runs += 1
        with self.log.open("ab") as out:
            out.write(f"\n--- run {self.runs} on port {self.port} ---\n".encode())
            out.flush()
            self.process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "uvicorn", "dashboard.asgi:application"),
                    *("--host", "127.0.0.1", "--port", str(self.port), "--lifespan", "off"),
                    *(() if self.access_log else ("--no-access-log",)),
                ],
                cwd=BASE_DIR,
                # Each lets in the websockets of its own pages.
                env={"WEBSOCKET_ALLOWED_ORIGINS": self.url} | self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def answers(self) -> bool:
        """Whether the server answers its login page now (/healthz would ask LiveKit)."""
        try:
            return httpx.get(f"{self.url}/login/", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + STARTUP
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                pytest.fail(f"The server exited:\n{self.output()}")
            if self.answers():
                return
            time.sleep(0.1)
        pytest.fail(f"The server did not answer within {STARTUP} s:\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, connections cut mid-request."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def output(self) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else "(never started)"
        return f"--- server log {self.log} ---\n" + text


@contextmanager
def serving(*servers: Server) -> Iterator[None]:
    """The servers started and answering; stopped afterwards, their logs printed (shown when a
    test fails)."""
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_until_up()
        yield
    finally:
        for server in servers:
            server.stop()
        for server in servers:
            print(server.output())


def log_in(server: Server) -> dict[str, str]:
    """Sign in through the login page, as a browser does: the cookies it then holds."""
    with httpx.Client(base_url=server.url, timeout=10) as client:
        page = client.get("/login/")
        assert page.status_code == 200, page.text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert token, page.text
        answer = client.post(
            "/login/",
            data={"username": USERNAME, "password": PASSWORD, "csrfmiddlewaretoken": token[1]},
        )
        assert answer.status_code == 302, answer.text
        return dict(client.cookies.items())


def signed_webhook(egress_id: str) -> tuple[str, dict[str, str]]:
    """LiveKit's `egress_started` for a new egress `egress_id`, signed as LiveKit signs it: the
    body and its headers."""
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
    )
    return body, {"Authorization": sign(body, KEY, SECRET), "Content-Type": CONTENT_TYPE}


def new_egress_id() -> str:
    return f"EG_{uuid.uuid4().hex[:12]}"


async def follow_jobs(
    server: Server, cookies: dict[str, str], timeout: float
) -> tuple[ClientConnection, str]:
    """A browser's websocket on the job list, and the snapshot it got (within `timeout` s)."""
    websocket = await connect(
        f"ws://127.0.0.1:{server.port}/ws/live/?view=jobs",
        additional_headers={
            "Origin": server.url,
            "Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items()),
        },
        open_timeout=timeout,
    )
    snapshot = str(await asyncio.wait_for(websocket.recv(), timeout))
    assert 'id="job-rows"' in snapshot
    return websocket, snapshot
