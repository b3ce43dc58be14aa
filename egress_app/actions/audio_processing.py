"""Mixing a running audio session, in whichever process holds it (issue 14, Processing).

Taps publish 16 kHz mono chunks on the session's audio bus (egress_app/audio/bus.py) from the web
process that receives them. Which process mixes:

- With `REDIS_URL`: the bus is Redis Streams, and `manage.py audio_worker` processes sessions.
  Each worker claims running sessions with a lease (`AudioSession.processed_by/processed_until`,
  a conditional update), renews it while it mixes, and lets go when the session ends or it stops;
  a dead worker's sessions are taken over once its lease runs out. Several workers, on several
  machines, share the sessions.
- Without: the bus is a queue in the web process, and the tap endpoint starts the session's
  processor there when a tap connects (`process_here`); it stops when the session ends, or after
  `LOCAL_IDLE_SECONDS` with no audio (the next tap to connect starts it again).

Either way a session's processor is a thread (egress_app/audio/processor.py) that publishes the
mix's level to the session page about 10 times a second and feeds every tick to the session's
sinks (`sinks_for`), closed with `ended=True` when the session ends. Its database work and its
publishing run on an event loop it is given (the web server's, or the worker's own), as the rest
of that process's do.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from datetime import timedelta
from functools import cache
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from egress_app.actions.session_sinks import sinks_for
from egress_app.audio.bus import Bus, LocalBus, RedisBus
from egress_app.audio.processor import MixReading, SessionProcessor
from egress_app.events import MixLevel, announce_mix_level
from egress_app.models import AudioSession, AudioSessionState

logger = logging.getLogger(__name__)

LOCAL_IDLE_SECONDS = 30.0
LOOP_CALL_SECONDS = 10.0

LOCAL_BUS = LocalBus()


@cache
def _redis_bus(url: str, prefix: str) -> RedisBus:
    return RedisBus(url, prefix)


def audio_bus() -> Bus:
    """Redis Streams when REDIS_URL is set, else this process's own queues."""
    if settings.REDIS_URL:
        return _redis_bus(settings.REDIS_URL, settings.REDIS_PREFIX)
    return LOCAL_BUS


def processes_here() -> bool:
    """Whether web processes mix their sessions themselves (no Redis: one process)."""
    return not settings.REDIS_URL


# --- one session's processor, in a thread --------------------------------------------------------
class Processing:
    """A session's processor thread; `stop()` ends it (the session may go on elsewhere)."""

    def __init__(
        self,
        session_id: int,
        bus: Bus,
        loop: asyncio.AbstractEventLoop,
        idle_limit: float | None = None,
        on_exit: Callable[[Processing], None] | None = None,
    ) -> None:
        self.session_id, self.bus, self.loop = session_id, bus, loop
        self.idle_limit, self.on_exit = idle_limit, on_exit
        self.stopping = threading.Event()
        self.ended = False
        self.processor: SessionProcessor | None = None
        self.thread = threading.Thread(
            target=self._run, name=f"audio-session-{session_id}", daemon=True
        )

    def start(self) -> Processing:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()

    def alive(self) -> bool:
        return self.thread.is_alive()

    def _run(self) -> None:
        try:
            sinks = self._on_loop(database_sync_to_async(sinks_for)(self.session_id))
            reader = self.bus.reader(self.session_id)
            self.processor = SessionProcessor(reader, sinks, self._publish)
            try:
                self.processor.run(self._keep_going)
            finally:
                self.processor.close(ended=self.ended)
        except Exception:
            logger.exception("Stopped processing audio session %s: it failed", self.session_id)
        finally:
            if self.on_exit is not None:
                self.on_exit(self)

    def _keep_going(self) -> bool:
        if self.loop.is_closed():
            return False
        try:
            self.ended = not self._on_loop(database_sync_to_async(_is_running)(self.session_id))
        except RuntimeError:  # the event loop is gone: this process is shutting down
            return False
        except Exception:  # a database blip: ask again in a second
            logger.exception("Could not check audio session %s", self.session_id)
        if self.ended or self.stopping.is_set() or self.loop.is_closed():
            return False
        assert self.processor is not None
        return self.idle_limit is None or self.processor.idle_for() < self.idle_limit

    def _publish(self, reading: MixReading) -> None:
        if self.loop.is_closed():  # its server stopped: so does this processor
            self.stopping.set()
            return
        level = MixLevel(
            self.session_id,
            round(reading.rms_dbfs, 1),
            round(reading.peak_dbfs, 1),
            str(reading.state),
            reading.tracks,
        )
        future = asyncio.run_coroutine_threadsafe(announce_mix_level(level), self.loop)
        future.add_done_callback(_log_failure)

    def _on_loop[T](self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(LOOP_CALL_SECONDS)


def _log_failure(future: Any) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.warning("Could not publish a mix level: %s", future.exception())


def _is_running(session_id: int) -> bool:
    return AudioSession.objects.filter(pk=session_id, state=AudioSessionState.RUNNING).exists()


# --- without Redis: in the web process -----------------------------------------------------------
_here: dict[int, Processing] = {}
_here_lock = threading.Lock()


def process_here(session_id: int) -> None:
    """Have this process mix the session, if nothing here does yet (call from the event loop
    that receives its taps)."""
    loop = asyncio.get_running_loop()
    with _here_lock:
        running = _here.get(session_id)
        if running is not None and running.alive() and not running.stopping.is_set():
            if running.loop is loop:
                return
            running.stop()  # a server that stopped in this process (tests start several)
        _here[session_id] = Processing(
            session_id, LOCAL_BUS, loop, idle_limit=LOCAL_IDLE_SECONDS, on_exit=_gone_here
        ).start()


def _gone_here(processing: Processing) -> None:
    with _here_lock:
        if _here.get(processing.session_id) is processing:
            del _here[processing.session_id]


# --- with Redis: leases for audio workers --------------------------------------------------------
def claim_sessions(worker: str, limit: int) -> list[int]:
    """Running sessions nobody holds (or whose holder's lease ran out), now held by `worker`."""
    now = timezone.now()
    until = now + _lease()
    running = AudioSession.objects.filter(state=AudioSessionState.RUNNING)
    free = running.filter(Q(processed_until__isnull=True) | Q(processed_until__lt=now))
    claimed = []
    for pk in list(free.values_list("pk", flat=True)[: max(0, limit)]):
        if free.filter(pk=pk).update(processed_by=worker, processed_until=until) == 1:
            claimed.append(pk)
    return claimed


def renew_leases(worker: str, session_ids: list[int]) -> set[int]:
    """The sessions `worker` still holds, their leases renewed; not those that ended or that
    another worker took over."""
    held = AudioSession.objects.filter(
        pk__in=session_ids, processed_by=worker, state=AudioSessionState.RUNNING
    )
    kept = set(held.values_list("pk", flat=True))
    held.filter(pk__in=kept).update(processed_until=timezone.now() + _lease())
    return kept


def _lease() -> timedelta:
    return timedelta(seconds=float(settings.AUDIO_WORKER_LEASE))


def release_sessions(worker: str, session_ids: list[int]) -> None:
    """Let go of these sessions now (a worker shutting down): another takes them at once."""
    AudioSession.objects.filter(pk__in=session_ids, processed_by=worker).update(
        processed_by="", processed_until=None
    )
