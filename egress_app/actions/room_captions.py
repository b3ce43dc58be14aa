"""Final captions published into the room with RoomService `SendData`, for participants' own apps.

LiveKit's `lk.transcription` topic belongs to text streams (its SDKs read it with a text stream
handler and `lk.*` attributes), not to the data packets SendData sends, and `lk.` names are
LiveKit's own; so each caption goes as a reliable data packet on a topic of ours, `TOPIC`, whose
payload is `packet(utterance)` (the README documents both for app developers).

Sending never holds up captions: the transcription sink hands each final over to the session
processor's event loop and returns; there one task sends them in order, at most `WAITING`
waiting (more are dropped, counted and said). A refusal is logged and kept on the transcription
(`room_error`, in plain words with LiveKit's Twirp code) and pushed to the session page; the next
send that works clears it. Nothing here raises into the sink.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async

from egress_app.events import Caption, announce_caption
from egress_app.livekit import LiveKitError, get_livekit_client
from egress_app.models import Transcription, Utterance

logger = logging.getLogger(__name__)

TOPIC = "egress-dashboard.caption"
WAITING = 50  # finals waiting for LiveKit at most; beyond, LiveKit is too slow and they drop
ROOM = "room"  # the Caption kind and line of the publishing's state on the session page
LIVE = "each final caption is published into the room."


def packet(utterance: Utterance) -> bytes:
    """The data packet's payload: one final caption as compact UTF-8 JSON."""
    return json.dumps(
        {
            "type": "caption",
            "id": utterance.pk,
            "identity": utterance.speaker_identity,
            "name": utterance.speaker_name or utterance.speaker_identity,
            "text": utterance.text,
            "start": _instant(utterance.started_at),
            "end": _instant(utterance.ended_at),
            "language": utterance.language,
            "final": True,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def _instant(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class RoomCaptions:
    """One processing run's publishing into `room` (its processor's `loop`; None: at once)."""

    transcription_id: int
    session_id: int
    room: str
    loop: asyncio.AbstractEventLoop | None
    failure: str = ""  # the last refusal said, until a send works
    dropped: int = 0
    _queue: asyncio.Queue[bytes | None] | None = field(default=None, repr=False)

    def publish(self, utterance: Utterance) -> None:
        """Send a stored final (from the processor's thread: never waits for LiveKit)."""
        try:
            data = packet(utterance)
            if self.loop is None:  # a test driving the sink without a processor
                async_to_sync(self._send)(data)
            elif not self.loop.is_closed():
                self.loop.call_soon_threadsafe(self._enqueue, data)
        except Exception:
            logger.exception("Transcription %s: a caption was not published", self.transcription_id)

    def close(self) -> None:
        """No more finals: the sending task ends once those waiting are sent."""
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._enqueue, None)

    def _enqueue(self, data: bytes | None) -> None:
        if self._queue is None:
            if data is None:
                return
            self._queue = asyncio.Queue(WAITING)
            asyncio.get_running_loop().create_task(self._work(self._queue))
        try:
            self._queue.put_nowait(data)
        except asyncio.QueueFull:
            if data is None:  # the end must get through: it waits for a place
                asyncio.get_running_loop().create_task(self._queue.put(None))
                return
            self.dropped += 1
            words = f"LiveKit answers too slowly: {self.dropped} captions not published."
            asyncio.get_running_loop().create_task(self._said(words, failed=True))

    async def _work(self, queue: asyncio.Queue[bytes | None]) -> None:
        while (data := await queue.get()) is not None:
            await self._send(data)

    async def _send(self, data: bytes) -> None:
        try:
            await get_livekit_client().send_data(self.room, data, topic=TOPIC)
        except LiveKitError as error:
            await self._said(refusal(error), failed=True)
        except Exception as error:  # a bug of ours: logged, the captions go on
            logger.exception("Transcription %s: SendData failed", self.transcription_id)
            await self._said(f"Captions are not published into the room: {error}.", failed=True)
        else:
            if self.failure:
                await self._said(LIVE, failed=False)

    async def _said(self, words: str, *, failed: bool) -> None:
        """Keep and show a change of the publishing's state (the same refusal once)."""
        if (words == self.failure) if failed else not self.failure:
            return
        self.failure = words if failed else ""
        if failed:
            logger.warning("Transcription %s: %s", self.transcription_id, words)
        rows = Transcription.objects.filter(pk=self.transcription_id)
        try:
            await database_sync_to_async(rows.update)(room_error=self.failure[:300])
        except Exception as problem:  # a busy database: the page still hears it now
            logger.warning("Transcription %s: not kept: %s", self.transcription_id, problem)
        try:
            await announce_caption(Caption(self.session_id, ROOM, ROOM, words, failed=failed))
        except Exception:
            logger.exception("Could not push a caption of audio session %s", self.session_id)


def refusal(error: LiveKitError) -> str:
    """LiveKit's refusal of a caption, in plain words with its Twirp code."""
    words = error.plain
    if error.code == "unavailable" and "no response from servers" in error.message:
        # What LiveKit answers for a room no node has (psrpc finds nobody on its topic).
        words = "No LiveKit node has the room (it has ended, or never started)."
    return (
        f"Captions are not published into the room (LiveKit said {error.code}): {words} "
        "They still show here and in the transcript."
    )
