"""The dashboard served for real, so the sandbox's track egress can dial its audio endpoint.

`audio_server` runs `dashboard.asgi.application` with uvicorn in a thread of the test process,
configured as the README's production section says (websockets-sansio, no keepalive pings of
our own), and points AUDIO_INGEST_URL at it. The server's synchronous work all runs in one
thread (as in tests/browser/conftest.py); a test runs its own database work there too
(`AudioServer.run`), so that under SQLite's shared in-memory connection nothing interleaves.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from django.db import connections
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper
from pytest_django.fixtures import Settings

from egress_app.sandbox.testing import STARTUP_TIMEOUT, serve
from tests.browser.conftest import (
    HOST,
    _asgi_application,
    _ClosingExecutor,
    _in_one_thread,
    _wait_until_started,
)

CALL_TIMEOUT = 30.0


@dataclass(frozen=True)
class AudioServer:
    url: str
    executor: ThreadPoolExecutor

    def run[T](self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn` in the server's one thread for synchronous work."""
        return self.executor.submit(fn, *args, **kwargs).result(CALL_TIMEOUT)


@contextmanager
def serving_dashboard(
    settings: Settings, *, ws_ping_interval: float, ws_ping_timeout: float = 20.0
) -> Iterator[AudioServer]:
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
        max_workers=1, thread_name_prefix="audio-test-sync", initializer=use_shared_connections
    )
    pool = _ClosingExecutor(
        max_workers=4, thread_name_prefix="audio-test-pool", initializer=use_shared_connections
    )
    app = _in_one_thread(_asgi_application(), executor)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    port = sock.getsockname()[1]
    settings.AUDIO_INGEST_URL = f"ws://{HOST}:{port}"
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            lifespan="off",
            log_level="warning",
            access_log=False,
            ws="websockets-sansio",
            ws_ping_interval=ws_ping_interval,
            ws_ping_timeout=ws_ping_timeout,
            timeout_graceful_shutdown=2,
        )
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(
        target=serve, args=(loop, server, sock, pool), name=f"audio-test-{port}", daemon=True
    )
    thread.start()
    try:
        _wait_until_started(server, thread)
        yield AudioServer(url=f"http://{HOST}:{port}", executor=executor)
    finally:
        server.should_exit = True
        thread.join(STARTUP_TIMEOUT)
        sock.close()
        executor.submit(connections.close_all).result(STARTUP_TIMEOUT)
        executor.shutdown(wait=True)
        pool.shutdown(wait=True)
        for conn in shared.values():
            conn.dec_thread_sharing()


@pytest.fixture
def audio_server(
    transactional_db: None, django_db_serialized_rollback: None, settings: Settings
) -> Iterator[AudioServer]:
    # As deployed (README, Running in production): `--ws-ping-interval 0`.
    with serving_dashboard(settings, ws_ping_interval=0) as server:
        yield server
