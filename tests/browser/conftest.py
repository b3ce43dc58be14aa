"""Playwright journeys against the dashboard served over ASGI, websockets included.

`asgi_server` runs `dashboard.asgi.application` (static files served by Django's
`ASGIStaticFilesHandler`) with uvicorn in a background thread of the test process, on a free
127.0.0.1 port, against the test database. The `browser` fixture (under `page`, and `new_page`
for a second person with their own cookies) points the sandbox's webhooks at that server's
`/livekit/webhook`, so egresses move on as they do with a real LiveKit: the sandbox sends
`egress_started`, `egress_updated` and `egress_ended`, the dashboard applies them and pushes the
change to every open page over its websocket.

All of the server's thread-sensitive synchronous work (views, the webhook, the consumers'
database reads) runs in one worker thread, one piece at a time; the little Django runs outside
it (`thread_sensitive=False`, such as rendering an error page) goes to a small pool whose tasks
close their connections. SQLite's test database lives in memory, shared between connections
through a shared cache whose table locks fail at once instead of waiting; so under SQLite these
threads use the test's own connection, as Django's live server does. Under PostgreSQL they open
their own, all closed before the database is flushed.

Playwright's sync API keeps an asyncio loop running on this thread while a browser is open, and
Django refuses ORM calls from a thread with a running loop. Rather than switching that safety off
(DJANGO_ALLOW_ASYNC_UNSAFE), a test writes to the database before the browser starts or through
the browser (the server); the browser closes before pytest-django flushes the database: these
fixtures depend on the database fixtures, so they are set up after them and torn down before
them.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from asgiref.sync import ThreadSensitiveContext
from django.contrib.auth.models import User
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.db import connections
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper
from playwright.sync_api import Browser, Page, sync_playwright
from pytest_django.fixtures import Settings

from egress_app.management.commands.seed_demo import seed_demo_users
from egress_app.sandbox.testing import STARTUP_TIMEOUT, RunningSandbox, serve

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOST = "127.0.0.1"


@dataclass(frozen=True)
class AsgiServer:
    url: str  # http://127.0.0.1:PORT, no trailing slash


@pytest.fixture
def demo_users(transactional_db: None, django_db_serialized_rollback: None) -> list[User]:
    # The server sees only committed rows, so each test ends with a flush that would also wipe
    # the roles migration 0002 created; serialized rollback puts them back for the next test.
    # The same helper as `manage.py seed_demo`, without its development-only guard.
    return seed_demo_users()


def _asgi_application() -> Any:
    """`dashboard.asgi.application` (its websocket origin check reads the settings)."""
    import dashboard.asgi  # here, not at collection: loading it reads the database

    return dashboard.asgi.application


def _in_one_thread(app: Any, executor: ThreadPoolExecutor) -> Any:
    async def one_thread_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        # Django's handler and channels' consumers reuse an enclosing thread-sensitive context,
        # so every sync_to_async(thread_sensitive=True) call of every connection lands in the
        # executor's one thread.
        async with ThreadSensitiveContext(executor=executor):
            await app(scope, receive, send)

    return one_thread_app


class _ClosingExecutor(ThreadPoolExecutor):
    """The server loop's default executor. Django runs a little there, outside the request's
    thread (`thread_sensitive=False`: the response to an exception, such as the 403 page, with
    its context processors' queries); each task closes what it opened, or a PostgreSQL session
    would outlive the test and block dropping the test database."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        def run() -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                connections.close_all()

        return super().submit(run)


def _wait_until_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the ASGI test server exited during startup")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the ASGI test server did not start within {STARTUP_TIMEOUT}s")
        time.sleep(0.01)


@pytest.fixture
def asgi_server(transactional_db: None, settings: Settings) -> Iterator[AsgiServer]:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, HOST, "localhost"]
    shared = {
        conn.alias: conn
        for conn in connections.all()
        if isinstance(conn, SQLiteWrapper) and conn.is_in_memory_db()
    }
    for conn in shared.values():
        conn.inc_thread_sharing()

    def use_shared_connections() -> None:
        for alias, conn in shared.items():
            connections[alias] = conn

    executor = ThreadPoolExecutor(
        max_workers=1, thread_name_prefix="asgi-test-sync", initializer=use_shared_connections
    )
    pool = _ClosingExecutor(
        max_workers=4, thread_name_prefix="asgi-test-pool", initializer=use_shared_connections
    )
    app = _in_one_thread(ASGIStaticFilesHandler(_asgi_application()), executor)

    # With the protocol named, asyncio turns on TCP_NODELAY for accepted connections.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    port = sock.getsockname()[1]
    settings.WEBSOCKET_ALLOWED_ORIGINS = [f"http://{HOST}:{port}"]
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            lifespan="off",
            log_level="warning",
            access_log=False,
            ws="websockets-sansio",
            timeout_graceful_shutdown=2,
        )
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(
        target=serve, args=(loop, server, sock, pool), name=f"asgi-test-server-{port}", daemon=True
    )
    thread.start()
    try:
        _wait_until_started(server, thread)
        yield AsgiServer(url=f"http://{HOST}:{port}")
    finally:
        server.should_exit = True
        thread.join(STARTUP_TIMEOUT)
        sock.close()
        # The worker's own connections (PostgreSQL) close in the worker; shared ones stay open.
        executor.submit(connections.close_all).result(STARTUP_TIMEOUT)
        executor.shutdown(wait=True)
        pool.shutdown(wait=True)
        for conn in shared.values():
            conn.dec_thread_sharing()


@pytest.fixture
def browser(
    asgi_server: AsgiServer, sandbox: RunningSandbox, demo_users: list[User]
) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    # The sandbox reports every egress change to the dashboard, as a real LiveKit would.
    sandbox.control.set_webhook_urls([f"{asgi_server.url}/livekit/webhook"])
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            yield browser
            browser.close()
    finally:
        sandbox.control.set_webhook_urls([])


@pytest.fixture
def new_page(browser: Browser, asgi_server: AsgiServer) -> Iterator[Callable[[], Page]]:
    """Opens a page in a fresh browser context (its own cookies: another person)."""
    contexts = []

    def open_page() -> Page:
        context = browser.new_context(
            base_url=asgi_server.url, viewport={"width": 1280, "height": 800}
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[[], Page]) -> Page:
    return new_page()
