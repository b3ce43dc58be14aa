"""Track egress to a websocket, as livekit/egress's sink (E:pkg/pipeline/sink/websocket.go) does it.

- Binary messages of raw PCM, S16LE, 48 kHz, stereo interleaved (E:pkg/pipeline/builder/audio.go),
  one per GStreamer buffer: 10 ms by default (`AudioConfig.frame_seconds`), paced in real time.
  The content is the participant's speech or the test tone (egress_app/sandbox/speech.py).
- `{"muted":true}` / `{"muted":false}` text messages when the track is muted or unmuted, at the
  start if the track is already muted, and after `inactive_after` seconds without packets (a stalled
  track) (E:pkg/pipeline/source/sdk/appwriter.go). Zeros keep flowing while muted.
- A ping with payload "ping" every `ping_interval` seconds, and "pong" as the payload of the answer
  to any ping (gorilla's ping handler overridden in E:pkg/pipeline/sink/websocket.go `Start`).
  Pongs are never checked and nothing times out on them.
- The end is a Close frame without a status code (`WriteMessage(CloseMessage, nil)`; receivers
  see 1005). Dialled once, never again: a failed write fails the egress with gorilla's error text
  (E:pkg/pipeline/sink/websocket.go `NewSampleFunc` -> psrpc Unavailable, error_code 503).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

import websockets
from websockets.asyncio.client import ClientConnection, connect
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode

from egress_app.sandbox.config import AudioConfig
from egress_app.sandbox.speech import CHANNELS, SAMPLE_RATE

logger = logging.getLogger("egress_app.sandbox.audio")

CONNECT_TIMEOUT = 5.0
PING = b"ping"
PONG = b"pong"
# gorilla's ErrCloseSent: its default close handler answers the receiver's Close frame, after
# which every write returns this error (the egress's error text).
ERR_CLOSE_SENT = "websocket: close sent"


class AudioDialError(Exception):
    pass


class _GorillaProtocol(ClientProtocol):
    """Answers every ping with the payload "pong", not the echo RFC 6455 asks for."""

    def send_frame(self, frame: Frame) -> None:
        if frame.opcode is Opcode.PONG:
            frame = Frame(Opcode.PONG, PONG)
        super().send_frame(frame)


class _GorillaConnection(ClientConnection):
    def __init__(self, protocol: ClientProtocol, **kwargs: object) -> None:
        protocol.__class__ = _GorillaProtocol  # connect() builds a plain ClientProtocol
        super().__init__(protocol, **kwargs)  # type: ignore[arg-type]


class AudioStream:
    """One websocket output of one track egress, looping over `loop` (48 kHz stereo S16LE)."""

    def __init__(self, url: str, loop: bytes, config: AudioConfig, *, muted: bool = False) -> None:
        self.url = url
        self.config = config
        self.muted = muted
        self.stalled = False
        self._loop_audio = loop
        self._frame_bytes = round(SAMPLE_RATE * config.frame_seconds) * CHANNELS * 2
        self._silence = bytes(self._frame_bytes)
        self._sent_muted: bool | None = None
        self._ws: ClientConnection | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._broken = False
        self._stall_timer: asyncio.TimerHandle | None = None

    async def connect(self) -> None:
        try:
            self._ws = await connect(
                self.url,
                additional_headers={"Content-Type": "audio/x-raw"},
                open_timeout=CONNECT_TIMEOUT,
                ping_interval=None,  # egress's own pings below; it never waits for pongs
                compression=None,
                create_connection=_GorillaConnection,
            )
        except websockets.InvalidStatus as exc:
            raise AudioDialError("websocket: bad handshake") from exc
        except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
            raise AudioDialError(
                f"dial tcp {urlsplit(self.url).netloc}: connect: connection refused"
            ) from exc

    def start(self, on_broken: Callable[[str], None]) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._pump(on_broken)),
            loop.create_task(self._ping()),
        ]

    def _inactive(self) -> bool:
        return self.muted or self._sent_muted is True

    async def _pump(self, on_broken: Callable[[str], None]) -> None:
        assert self._ws is not None
        loop = asyncio.get_running_loop()
        started = loop.time()
        index = 0
        audio, size = self._loop_audio, self._frame_bytes
        offset = 0
        try:
            if self.muted:  # inactive when the pipeline is built (appwriter.go `buildReady`)
                await self._send_muted(True)
            while True:
                if self._inactive() or self.stalled:
                    frame = self._silence
                else:
                    frame = audio[offset : offset + size]
                    if len(frame) < size:
                        frame += audio[: size - len(frame)]
                    offset = (offset + size) % len(audio)
                await self._ws.send(frame)
                index += 1
                delay = started + index * self.config.frame_seconds - loop.time()
                await asyncio.sleep(max(0.0, delay))
        except websockets.ConnectionClosed as exc:
            if not self._closing and not self._broken:
                self._broken = True
                on_broken(self._write_error(exc))

    def _write_error(self, exc: websockets.ConnectionClosed) -> str:
        if exc.rcvd is not None:
            return ERR_CLOSE_SENT
        assert self._ws is not None
        local = "{}:{}".format(*self._ws.local_address[:2])
        remote = "{}:{}".format(*self._ws.remote_address[:2])
        return f"write tcp {local}->{remote}: write: broken pipe"

    async def _ping(self) -> None:
        assert self._ws is not None
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await asyncio.sleep(self.config.ping_interval)
                # Gorilla does not track pings: forget any unanswered one so the next can go out.
                self._ws.pending_pings.pop(PING, None)
                await self._ws.ping(PING)

    async def _send_muted(self, muted: bool) -> None:
        if self._ws is None or self._sent_muted is muted:
            return
        self._sent_muted = muted
        with contextlib.suppress(websockets.ConnectionClosed):
            await self._ws.send(json.dumps({"muted": muted}, separators=(",", ":")))

    async def set_muted(self, muted: bool) -> None:
        self.muted = muted
        if muted or not self.stalled:
            await self._send_muted(muted)

    async def set_stalled(self, stalled: bool) -> None:
        """No packets from the publisher: muted after `inactive_after` s, unmuted on resume."""
        self.stalled = stalled
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None
        if stalled:
            loop = asyncio.get_running_loop()
            self._stall_timer = loop.call_later(
                self.config.inactive_after,
                lambda: self._tasks.append(loop.create_task(self._send_muted(True))),
            )
        elif not self.muted:
            await self._send_muted(False)

    async def close(self) -> None:
        self._closing = True
        if self._stall_timer is not None:
            self._stall_timer.cancel()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._ws is not None:
            # No status code in the Close frame, like gorilla's WriteMessage(CloseMessage, nil).
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(code=None), CONNECT_TIMEOUT)  # type: ignore[arg-type]  # None sends an empty Close payload
