"""ThreadedServer.read against SQLite's shared in-memory test database, where another
connection's open write transaction locks a table for readers at once (SQLITE_LOCKED does not
wait as a database file's busy lock does)."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth.models import User
from django.db import OperationalError, connection, connections, transaction

from tests.audio_sessions.conftest import AudioServer


@pytest.fixture
def server(audio_server: AudioServer) -> AudioServer:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's shared cache is what locks tables for readers")
    return audio_server


def writing(started: threading.Event, release: threading.Event) -> None:
    """A write transaction on another connection, as a session processor's store is."""
    try:
        with transaction.atomic():
            User.objects.create(username="writer")
            started.set()
            release.wait(30)
    finally:
        connections.close_all()


def test_it_reads_again_while_another_connection_locks_the_table(server: AudioServer) -> None:
    started, release = threading.Event(), threading.Event()
    writer = threading.Thread(target=writing, args=(started, release))
    writer.start()
    try:
        assert started.wait(30)
        with pytest.raises(OperationalError, match="locked"):
            server.run(User.objects.count)  # what made the end-to-end tests flaky
        threading.Timer(0.3, release.set).start()
        assert server.read(User.objects.count) == 1  # waited for the commit
    finally:
        release.set()
        writer.join(30)
