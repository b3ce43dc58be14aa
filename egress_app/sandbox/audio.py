"""Track egress to a websocket: raw PCM as livekit/egress pkg/pipeline/sink/websocket.go sends it.

Binary frames of S16LE, 48 kHz, stereo interleaved, 20 ms each (3840 bytes), in real time: a 440 Hz
tone at -12 dBFS while the track is unmuted, silence while muted. Mute changes also go out as text
frames `{"muted": true}`. The end is a Close frame without a status code (receivers see 1005).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import struct
from collections.abc import Callable
from urllib.parse import urlsplit

import websockets
from websockets.asyncio.client import ClientConnection, connect

logger = logging.getLogger("egress_app.sandbox.audio")

SAMPLE_RATE = 48_000
CHANNELS = 2
FRAME_SECONDS = 0.02
FRAME_SAMPLES = int(SAMPLE_RATE * FRAME_SECONDS)
FRAME_BYTES = FRAME_SAMPLES * CHANNELS * 2
TONE_HZ = 440
TONE_DBFS = -12.0
CONNECT_TIMEOUT = 5.0
PING_INTERVAL = 30.0


def _tone_second() -> bytes:
    """One second of the tone: 440 whole cycles, so frames can loop over it seamlessly."""
    amplitude = 32767 * 10 ** (TONE_DBFS / 20)
    samples: list[int] = []
    for n in range(SAMPLE_RATE):
        value = round(amplitude * math.sin(2 * math.pi * TONE_HZ * n / SAMPLE_RATE))
        samples.extend((value,) * CHANNELS)
    return struct.pack(f"<{len(samples)}h", *samples)


TONE = _tone_second()
SILENCE = bytes(FRAME_BYTES)
FRAMES_PER_SECOND = len(TONE) // FRAME_BYTES


class AudioDialError(Exception):
    pass


class AudioStream:
    """One websocket output of one track egress."""

    def __init__(self, url: str, muted: bool = False) -> None:
        self.url = url
        self.muted = muted
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    async def connect(self) -> None:
        try:
            self._ws = await connect(
                self.url,
                additional_headers={"Content-Type": "audio/x-raw"},
                open_timeout=CONNECT_TIMEOUT,
                ping_interval=PING_INTERVAL,
                compression=None,
            )
        except websockets.InvalidStatus as exc:
            raise AudioDialError("websocket: bad handshake") from exc
        except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
            raise AudioDialError(
                f"dial tcp {urlsplit(self.url).netloc}: connect: connection refused"
            ) from exc

    def start(self, on_broken: Callable[[str], None]) -> None:
        self._task = asyncio.get_running_loop().create_task(self._pump(on_broken))

    async def _pump(self, on_broken: Callable[[str], None]) -> None:
        assert self._ws is not None
        loop = asyncio.get_running_loop()
        started = loop.time()
        index = 0
        try:
            while True:
                if self.muted:
                    frame = SILENCE
                else:
                    offset = (index % FRAMES_PER_SECOND) * FRAME_BYTES
                    frame = TONE[offset : offset + FRAME_BYTES]
                await self._ws.send(frame)
                index += 1
                await asyncio.sleep(max(0.0, started + index * FRAME_SECONDS - loop.time()))
        except websockets.ConnectionClosed as exc:
            if not self._closing:
                on_broken(f"websocket: write failed: {exc}")

    async def set_muted(self, muted: bool) -> None:
        if muted == self.muted or self._ws is None:
            return
        self.muted = muted
        with contextlib.suppress(websockets.ConnectionClosed):
            await self._ws.send(json.dumps({"muted": muted}, separators=(",", ":")))

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._ws is not None:
            # No status code in the Close frame, like gorilla's empty close message.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(code=None), CONNECT_TIMEOUT)  # type: ignore[arg-type]  # None sends an empty Close payload
