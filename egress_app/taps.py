"""The audio endpoint egress dials: `/egress/audio/<tap>/?t=<token>` (not for browsers).

Egress sends `Content-Type: audio/x-raw`, binary messages of 48 kHz stereo S16LE, and text
messages `{"muted": bool}`; no Origin, no cookie, so this route sits outside the browsers'
origin check and authentication (dashboard/asgi.py). The token in the URL is the only
credential (`actions.open_tap`). Counting happens here, writing at most about once a second
(and at each change of mute state) through an action, in a thread, never per message. The
consumer never closes an accepted socket: egress would report the egress FAILED.

Levels: about 100 ms of audio at a time goes through the tap's meter (egress_app/audio) in a
worker thread, never on this event loop, and each reading is published to the session's page
(`events.announce_tap_level`), about 10 times a second; readings are not stored.

Mixing: the same thread resamples that audio to 16 kHz mono, and the chunk goes out on the
session's audio bus (actions.audio_processing: Redis Streams, or this process's queues without
Redis, when this process also mixes the session). A chunk the bus cannot take (Redis away or
slow) is dropped and logged, never held: the tap keeps receiving.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import OperationalError

from egress_app import actions, events
from egress_app.actions.audio_processing import audio_bus, process_here, processes_here
from egress_app.audio.bus import Bus, Chunk
from egress_app.audio.meter import Reading, TapMeter
from egress_app.audio.resample import Samples

logger = logging.getLogger(__name__)
FLUSH_SECONDS = 1.0
BATCH_BYTES = 48_000 * 4 // 10  # 100 ms of 48 kHz stereo S16LE: one meter reading


class AudioTapConsumer(AsyncWebsocketConsumer):
    tap_id: int | None = None
    session_id = 0
    received = 0
    total = 0
    batch: list[bytes]
    batch_bytes = 0
    meter: TapMeter
    ignored = 0
    muted = False
    flushed_at = 0.0
    bus: Bus
    seq = 0

    async def connect(self) -> None:
        try:
            tap_id = int(self.scope["url_route"]["kwargs"]["tap"])
            query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
            token = (query.get("t") or [""])[0]
            # Read first: once open_tap lets egress in, nothing may fail before the accept (the
            # tap would stay "connected" while its egress, refused, fails for good).
            self.session_id = await _patiently(actions.tap_session_id, tap_id)
            refusal = await _patiently(actions.open_tap, tap_id, token, _content_type(self.scope))
        except Exception:
            logger.exception("Refused an audio connection: it could not be checked")
            refusal = "unchecked"
        if refusal is not None:
            await self.close()  # before accept: the handshake answers 403
            return
        self.tap_id = tap_id
        self.batch, self.meter = [], TapMeter()
        self.flushed_at = time.monotonic()
        self.bus = audio_bus()
        await self.accept()
        if processes_here():
            process_here(self.session_id)

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Egress sends 100 messages a second per tap: channels' connection cleanup before each
        # (a hop to the shared sync thread) cost the receive about half its CPU (bench/audio.py).
        # The database work here goes through database_sync_to_async, which cleans up itself.
        if message["type"] == "websocket.receive":
            await self.websocket_receive(message)
            return
        await super().dispatch(message)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.tap_id is None:
            return
        if bytes_data is not None:
            self.received += len(bytes_data)
            self.total += len(bytes_data)
            self.batch.append(bytes_data)
            self.batch_bytes += len(bytes_data)
            if self.batch_bytes >= BATCH_BYTES:
                await self._measure()
        elif (muted := _muted(text_data)) is None:
            self.ignored += 1
            logger.info("Ignored a text message on audio tap %s", self.tap_id)
        elif muted != self.muted:
            self.muted = muted
            await self._publish(self.meter.set_muted(muted))
            await self._flush()
            return
        if time.monotonic() - self.flushed_at >= FLUSH_SECONDS:
            await self._flush()

    async def disconnect(self, code: int) -> None:
        if self.tap_id is not None:
            await self._flush(closed=True)
            self._offer(Chunk(self.tap_id, self.seq, b"", self.muted, end=True))

    async def _measure(self) -> None:
        batch, self.batch, self.batch_bytes = self.batch, [], 0
        reading, samples = await asyncio.to_thread(self.meter.feed_and_resample, batch)
        await self._publish(reading)
        self._send_soon(samples)

    def _send_soon(self, samples: Samples) -> None:
        assert self.tap_id is not None
        self._offer(Chunk(self.tap_id, self.seq, samples.tobytes(), self.muted))
        self.seq += 1

    def _offer(self, chunk: Chunk) -> None:
        try:
            self.bus.offer(self.session_id, chunk)
        except Exception:  # the bus never means to raise; if it does, the tap goes on
            logger.exception("Could not publish audio tap %s's chunk", self.tap_id)

    async def _publish(self, reading: Reading) -> None:
        assert self.tap_id is not None
        level = events.TapLevel(
            self.session_id,
            self.tap_id,
            round(reading.rms_dbfs, 1),
            round(reading.peak_dbfs, 1),
            str(reading.state),
            self.total,
        )
        try:
            await events.announce_tap_level(level)
        except Exception:  # a lost reading: the next one comes 100 ms later
            logger.exception("Could not publish audio tap %s's level", self.tap_id)

    async def _flush(self, *, closed: bool = False) -> None:
        assert self.tap_id is not None
        received, ignored = self.received, self.ignored
        self.received = self.ignored = 0
        self.flushed_at = time.monotonic()
        try:
            await database_sync_to_async(actions.record_tap_audio)(
                self.tap_id, received=received, muted=self.muted, ignored=ignored, closed=closed
            )
        except Exception:  # the audio keeps flowing; the next flush counts these again
            logger.exception("Could not record audio tap %s", self.tap_id)
            self.received += received
            self.ignored += ignored


CHECK_TRIES = 4  # a database that stays busy past about 1.4 s refuses the connection


async def _patiently[T](check: Callable[..., T], *args: Any) -> T:
    """`check(*args)` in the database's thread, tried again while the database is busy (a lock,
    a dropped connection): egress dials once, and a refusal ends its egress for good."""
    for attempt in range(CHECK_TRIES):
        try:
            return await database_sync_to_async(check)(*args)
        except OperationalError:
            if attempt == CHECK_TRIES - 1:
                raise
            logger.warning("The database was busy checking an audio connection; trying again")
            await asyncio.sleep(0.2 * 2**attempt)
    raise AssertionError("unreachable")


def _content_type(scope: dict[str, Any]) -> str:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-type":
            return str(value.decode("latin-1").partition(";")[0].strip().lower())
    return ""


def _muted(text: str | None) -> bool | None:
    """The mute state of egress's `{"muted": bool}`; None for any other text."""
    try:
        message = json.loads(text or "")
    except (ValueError, RecursionError):  # not JSON, or nested deeper than json parses
        return None
    if isinstance(message, dict) and set(message) == {"muted"}:
        muted = message["muted"]
        return muted if isinstance(muted, bool) else None
    return None
