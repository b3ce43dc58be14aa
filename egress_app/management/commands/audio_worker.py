"""`manage.py audio_worker`: mixes running audio sessions from their Redis streams (see
egress_app/actions/audio_processing.py).

Every second (a new session's mix starts within about a second; at most every third of
AUDIO_WORKER_LEASE) it:
1. forgets processors that stopped (their sessions are let go, for whoever claims them next);
2. renews the leases of the sessions it mixes, and stops mixing those that ended or that another
   worker took over (its lease had run out);
3. claims running sessions nobody holds, or whose holder's lease ran out (a dead worker), up to
   AUDIO_WORKER_SESSIONS, and starts a processor thread for each.
On exit (SIGTERM, Ctrl-C, `--for`) it stops its processors and lets go of their sessions, so
others take them at once.
Without REDIS_URL there is nothing to do: each web process mixes its own sessions.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import socket
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from egress_app.actions.audio_processing import (
    Processing,
    audio_bus,
    claim_sessions,
    processes_here,
    release_sessions,
    renew_leases,
)

logger = logging.getLogger("egress_app.audio_worker")
STOP_WAIT_SECONDS = 5.0
ROUND_SECONDS = 1.0


class Command(BaseCommand):
    help = (
        "Mix running audio sessions from Redis Streams: meters, sinks (recording, engines). "
        "Safe to run several, on several machines. Without REDIS_URL the web process does it."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stopping = threading.Event()  # set by SIGTERM (a deploy), or a test

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--for", dest="seconds", type=float, help="Stop after this many seconds."
        )

    def handle(self, *args: Any, seconds: float | None = None, **options: Any) -> None:
        if processes_here():
            self.stdout.write(
                "No REDIS_URL: each web process mixes its own audio sessions. Nothing to do."
            )
            return
        worker = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.stdout.write(f"Mixing audio sessions as {worker}.")
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: self.stopping.set())
        loop = asyncio.new_event_loop()
        threading.Thread(target=loop.run_forever, name="audio-worker-loop", daemon=True).start()
        mixing: dict[int, Processing] = {}
        try:
            self._loop(worker, loop, mixing, seconds)
        finally:
            self._stop(worker, mixing)
            loop.call_soon_threadsafe(loop.stop)

    def _loop(
        self,
        worker: str,
        loop: asyncio.AbstractEventLoop,
        mixing: dict[int, Processing],
        seconds: float | None,
    ) -> None:
        interval = min(ROUND_SECONDS, float(settings.AUDIO_WORKER_LEASE) / 3)
        ends = None if seconds is None else time.monotonic() + seconds
        while True:
            started = time.monotonic()
            try:
                self._round(worker, loop, mixing)
            except Exception:  # one bad round (a database blip) must not end the worker
                logger.exception("Audio worker round failed")
            if ends is not None and time.monotonic() >= ends:
                return
            pause = interval - (time.monotonic() - started)
            if self.stopping.wait(max(0.0, min(pause, ends - time.monotonic() if ends else pause))):
                return
            close_old_connections()

    def _round(
        self, worker: str, loop: asyncio.AbstractEventLoop, mixing: dict[int, Processing]
    ) -> None:
        stopped = [pk for pk, processing in mixing.items() if not processing.alive()]
        for pk in stopped:
            del mixing[pk]
        release_sessions(worker, stopped)
        held = renew_leases(worker, list(mixing))
        for pk in set(mixing) - held:
            mixing.pop(pk).stop()
            self.stdout.write(f"Stopped mixing audio session {pk}: it ended or moved.")
        room = int(settings.AUDIO_WORKER_SESSIONS) - len(mixing)
        for pk in claim_sessions(worker, room):
            mixing[pk] = Processing(pk, audio_bus(), loop).start()
            self.stdout.write(f"Mixing audio session {pk}.")

    def _stop(self, worker: str, mixing: dict[int, Processing]) -> None:
        for processing in mixing.values():
            processing.stop()
        for processing in mixing.values():
            processing.thread.join(STOP_WAIT_SECONDS)
        release_sessions(worker, list(mixing))
