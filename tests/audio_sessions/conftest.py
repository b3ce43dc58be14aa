"""The dashboard served for real, so the sandbox's track egress can dial its audio endpoint.

`audio_server` runs `dashboard.asgi.application` with uvicorn in a thread of the test process,
configured as the README's production section says (websockets-sansio, no keepalive pings of
our own), and points AUDIO_INGEST_URL at it. The server's synchronous work all runs in one
thread (tests/threaded_server.py); a test runs its own database work there too
(`AudioServer.run`), so that under SQLite's shared in-memory connection nothing interleaves.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO

import pytest
from django.db import connections
from pytest_django.fixtures import Settings

from egress_app.management.commands.audio_worker import Command as AudioWorker
from tests.threaded_server import HOST, ThreadedServer, asgi_application, serving_in_a_thread

AudioServer = ThreadedServer


@contextmanager
def serving_dashboard(
    settings: Settings, *, ws_ping_interval: float, ws_ping_timeout: float = 20.0
) -> Iterator[AudioServer]:
    def dial_here(port: int) -> None:
        settings.AUDIO_INGEST_URL = f"ws://{HOST}:{port}"

    with serving_in_a_thread(
        asgi_application(),
        name="audio-test",
        on_port=dial_here,
        ws="websockets-sansio",
        ws_ping_interval=ws_ping_interval,
        ws_ping_timeout=ws_ping_timeout,
    ) as server:
        yield server


@pytest.fixture
def audio_server(
    transactional_db: None, django_db_serialized_rollback: None, settings: Settings
) -> Iterator[AudioServer]:
    # As deployed (README, Running in production): `--ws-ping-interval 0`.
    with serving_dashboard(settings, ws_ping_interval=0) as server:
        yield server


@contextmanager
def mixer_running() -> Iterator[None]:
    """Without Redis the web process mixes; with it (CI's second run), an audio worker."""
    if not os.environ.get("REDIS_URL"):
        yield
        return
    worker = AudioWorker(stdout=StringIO())

    def work() -> None:
        try:
            worker.handle()
        finally:
            connections.close_all()  # this thread's, or the test database stays in use

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        yield
    finally:
        worker.stopping.set()
        thread.join(10)
