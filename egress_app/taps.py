"""The audio endpoint egress dials: `/egress/audio/<tap>/?t=<token>` (not for browsers).

Egress sends `Content-Type: audio/x-raw`, binary messages of 48 kHz stereo S16LE, and text
messages `{"muted": bool}`; no Origin, no cookie, so this route sits outside the browsers'
origin check and authentication (dashboard/asgi.py). The token in the URL is the only
credential (`actions.open_tap`). Counting happens here, writing at most about once a second
(and at each change of mute state) through an action, in a thread, never per message. The
consumer never closes an accepted socket: egress would report the egress FAILED.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from egress_app import actions

logger = logging.getLogger(__name__)
FLUSH_SECONDS = 1.0


class AudioTapConsumer(AsyncWebsocketConsumer):
    tap_id: int | None = None
    received = 0
    ignored = 0
    muted = False
    flushed_at = 0.0

    async def connect(self) -> None:
        try:
            tap_id = int(self.scope["url_route"]["kwargs"]["tap"])
            query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
            token = (query.get("t") or [""])[0]
            refusal = await database_sync_to_async(actions.open_tap)(
                tap_id, token, _content_type(self.scope)
            )
        except Exception:
            logger.exception("Refused an audio connection: it could not be checked")
            refusal = "unchecked"
        if refusal is not None:
            await self.close()  # before accept: the handshake answers 403
            return
        self.tap_id = tap_id
        self.flushed_at = time.monotonic()
        await self.accept()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.tap_id is None:
            return
        if bytes_data is not None:
            self.received += len(bytes_data)
        elif (muted := _muted(text_data)) is None:
            self.ignored += 1
            logger.info("Ignored a text message on audio tap %s", self.tap_id)
        elif muted != self.muted:
            self.muted = muted
            await self._flush()
            return
        if time.monotonic() - self.flushed_at >= FLUSH_SECONDS:
            await self._flush()

    async def disconnect(self, code: int) -> None:
        if self.tap_id is not None:
            await self._flush(closed=True)

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
