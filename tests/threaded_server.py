"""`dashboard.asgi.application` served by uvicorn in a thread of the test process, on a free
127.0.0.1 port, against the test database: for the browser journeys and for egress dialling the
audio endpoint.

All of the server's thread-sensitive synchronous work (views, the webhook, the consumers'
database reads) runs in one worker thread, one piece at a time; the little Django runs outside
it (`thread_sensitive=False`, such as rendering an error page) goes to a small pool whose tasks
close their connections. SQLite's test database lives in memory, shared between connections
through a shared cache whose table locks fail at once instead of waiting; so under SQLite these
threads use the test's own connection, as Django's live server does. Under PostgreSQL they open
their own, all closed before the database is flushed.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from asgiref.sync import ThreadSensitiveContext
from django.db import OperationalError, connections
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper

from egress_app.sandbox.testing import STARTUP_TIMEOUT, serve

HOST = "127.0.0.1"
CALL_TIMEOUT = 30.0


@dataclass(frozen=True)
class ThreadedServer:
    url: str  # http://127.0.0.1:PORT, no trailing slash
    port: int
    executor: ThreadPoolExecutor  # the one thread of the server's synchronous work

    def run[T](self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn` in the server's one thread for synchronous work (so that under SQLite's shared
        in-memory connection nothing interleaves)."""
        return self.executor.submit(fn, *args, **kwargs).result(CALL_TIMEOUT)

    def read[T](self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn`, which only reads, through `run`; again while SQLite says a table is locked.
        The test database is SQLite's shared in-memory cache, where a writer on another
        connection (a session processor's, storing an utterance) locks the table and a reader
        gets SQLITE_LOCKED at once instead of waiting as on a database file. The product retries
        its own writes; a test polling for them must too, or it fails now and then under load."""
        deadline = time.monotonic() + CALL_TIMEOUT
        while True:
            try:
                return self.run(fn, *args, **kwargs)
            except OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
            time.sleep(0.05)


def asgi_application() -> Any:
    """`dashboard.asgi.application` (its websocket origin check reads the settings)."""
    import dashboard.asgi  # here, not at collection: loading it reads the database

    return dashboard.asgi.application


@contextmanager
def serving_in_a_thread(
    app: Any, *, name: str, on_port: Callable[[int], None], **options: Any
) -> Iterator[ThreadedServer]:
    """Serve `app` until the block ends; `on_port` hears the port before the server starts (to
    point settings at it), `options` are uvicorn's."""
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
        max_workers=1, thread_name_prefix=f"{name}-sync", initializer=use_shared_connections
    )
    pool = _ClosingExecutor(
        max_workers=4, thread_name_prefix=f"{name}-pool", initializer=use_shared_connections
    )
    # With the protocol named, asyncio turns on TCP_NODELAY for accepted connections.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    port = sock.getsockname()[1]
    on_port(port)
    server = uvicorn.Server(
        uvicorn.Config(
            _in_one_thread(app, executor),
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
            **options,
        )
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(
        target=serve, args=(loop, server, sock, pool), name=f"{name}-{port}", daemon=True
    )
    thread.start()
    try:
        _wait_until_started(server, thread)
        yield ThreadedServer(url=f"http://{HOST}:{port}", port=port, executor=executor)
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
