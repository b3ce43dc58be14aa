"""What the websocket engines (Gladia, Deepgram, AssemblyAI, Forward) share: a stream whose
network I/O runs in its own thread and asyncio loop, fed through a bounded buffer.

`send` lines the channels' ticks up into interleaved frames (an engine with N channels wants
one N-channel stream) and queues them; when the queue holds more than `buffer_seconds` of
audio the oldest is dropped and the dropped span becomes a `Gap`. The loop connects, sends,
reads results and reconnects with backoff (`retries` tries, then "failed: <engine's words>");
a refusal that another try cannot fix (a bad key, a refused format) fails at once. Status
texts never hold a secret: every secret value is hidden from them (egress_app.redact).

Engine times restart at zero on each new connection (except for a resumed Gladia session)
and know nothing of dropped audio, so every audio message records where it sits in the stream
and results are mapped back to seconds from the stream's first audio.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from egress_app.redact import redactor
from egress_app.transcribe.engines import (
    MIX,
    SAMPLE_RATE,
    EngineSettings,
    Gap,
    Samples,
    Status,
    Words,
)

MAX_LAG = SAMPLE_RATE // 2  # a channel silent this long is padded with zeros, not waited for
IDLE = 0.02  # seconds the sender sleeps when it has nothing to send


@dataclass(frozen=True)
class Chunk:
    start: int  # stream position of its first frame, in samples
    frames: int
    data: bytes


class Interleaver:
    """Turns per-channel ticks into frames of every channel (or their mix), in order."""

    def __init__(self, channels: Sequence[str], *, mix: bool) -> None:
        self.channels = list(channels)
        self.mix = mix
        self.buffers = {name: np.zeros(0, np.int16) for name in self.channels}
        self.position = 0

    def push(self, channel: str, samples: Samples) -> Chunk | None:
        if channel not in self.buffers:
            return None
        self.buffers[channel] = np.concatenate([self.buffers[channel], samples.astype(np.int16)])
        return self._ready(flush=False)

    def flush(self) -> Chunk | None:
        return self._ready(flush=True)

    def _ready(self, *, flush: bool) -> Chunk | None:
        lengths = [len(b) for b in self.buffers.values()]
        longest = max(lengths)
        if flush or longest - min(lengths) > MAX_LAG:
            self._pad(longest)
        frames = min(len(b) for b in self.buffers.values())
        if frames == 0:
            return None
        stacked = np.stack([self.buffers[name][:frames] for name in self.channels], axis=1)
        self.buffers = {name: b[frames:] for name, b in self.buffers.items()}
        if self.mix:
            summed = stacked.astype(np.int32).sum(axis=1)
            stacked = np.clip(summed, -32768, 32767).astype(np.int16)
        chunk = Chunk(self.position, frames, stacked.astype("<i2").tobytes())
        self.position += frames
        return chunk

    def _pad(self, length: int) -> None:
        for name, buffer in self.buffers.items():
            if len(buffer) < length:
                padding = np.zeros(length - len(buffer), np.int16)
                self.buffers[name] = np.concatenate([buffer, padding])


class Refused(Exception):
    """The engine said no in a way another try will not fix (bad key, refused parameters)."""


class Dropped(Exception):
    """The connection went away or could not be made; another try may work."""


class CloudStream:
    """An `EngineStream` over a websocket. Subclasses say how to connect and what to send and
    read; this class owns the thread, the buffer, reconnects, gaps and status."""

    label = "engine"
    resumes = False  # engine times continue across reconnects (a resumed session)
    min_message_ms = 0
    max_message_ms = 100
    keepalive_every = 0.0  # seconds without audio before `keepalive_message` is sent
    open_timeout = 10.0
    stable_after = 10.0  # seconds live after which a drop starts the tries afresh

    def __init__(
        self,
        settings: EngineSettings,
        *,
        mix: bool = False,
        buffer_seconds: float = 10.0,
        retries: int = 5,
        backoff: float = 0.5,
    ) -> None:
        self.settings = settings
        self.channels = [MIX] if mix else list(settings.channels)
        self._interleaver = Interleaver(settings.channels, mix=mix)
        self._secrets = list(settings.secrets.values())
        self._hide = redactor(self._secrets)
        self._max_frames = int(buffer_seconds * SAMPLE_RATE)
        self._retries, self._backoff = retries, backoff
        self._lock = threading.Lock()
        self._queue: deque[Chunk] = deque()
        self._queued = 0
        self._gap: tuple[int, int, str] | None = None
        self._results: list[Words | Gap] = []
        self._status = Status("connecting")
        self._closing = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[None] | None = None
        self._segments: list[tuple[int, int]] = []  # (engine frames, stream frames)
        self._engine_frames = 0
        self._next_start = 0
        self._sent_until = 0  # stream frames sent so far
        self._speaking: dict[str, float] = {}  # channel -> where its unfinished words began
        self._live_since = 0.0
        self._thread = threading.Thread(target=self._run, name=f"stt-{self.label}", daemon=True)
        self._thread.start()

    # --- the processor thread's side: all return at once, none raises -----------------------
    def send(self, channel: str, samples: Samples) -> None:
        if self._closing.is_set() or self._status.failed:
            return
        with self._lock:
            try:
                chunk = self._interleaver.push(channel, samples)
            except ValueError:  # samples of the wrong shape: nothing to send
                return
            if chunk:
                self._enqueue(chunk)

    def poll(self) -> list[Words | Gap]:
        with self._lock:
            results, self._results = self._results, []
        return results

    @property
    def status(self) -> Status:
        return self._status

    def close(self, timeout: float = 5.0) -> None:
        with self._lock:
            if (chunk := self._interleaver.flush()) and not self._status.failed:
                self._enqueue(chunk)
        self._closing.set()
        self._thread.join(timeout)
        if self._thread.is_alive() and self._loop and self._main:
            self._loop.call_soon_threadsafe(self._main.cancel)
            self._thread.join(1.0)
            if not self._status.failed:
                self._set_status(f"ended: no last results from {self.label} within {timeout:g} s")

    def _enqueue(self, chunk: Chunk) -> None:
        self._queue.append(chunk)
        self._queued += chunk.frames
        while self._queued > self._max_frames:
            dropped = self._queue.popleft()
            self._queued -= dropped.frames
            self._note_drop(dropped, self._overflow())

    def _overflow(self) -> str:
        """Why the buffer overflowed, in plain words (the status is already scrubbed)."""
        seconds = self._max_frames / SAMPLE_RATE
        if self._status.text == "live":
            return f"{self.label} took the audio slower than it came ({seconds:g} s buffer full)"
        return f"{self.label} was away longer than the {seconds:g} s buffer ({self._status.text})"

    def _note_drop(self, chunk: Chunk, reason: str) -> None:
        end = chunk.start + chunk.frames
        if self._gap and self._gap[1] == chunk.start:
            self._gap = (self._gap[0], end, self._gap[2])
        else:
            self._emit_gap()
            self._gap = (chunk.start, end, reason)

    def _emit_gap(self) -> None:
        if self._gap:
            start, end, reason = self._gap
            for channel in self.channels:
                gap = Gap(channel, start / SAMPLE_RATE, end / SAMPLE_RATE, reason)
                self._results.append(gap)
            self._gap = None

    # --- what subclasses provide ------------------------------------------------------------
    async def open_socket(self) -> ClientConnection:
        raise NotImplementedError

    def audio_message(self, data: bytes) -> bytes | str:
        return data

    def start_messages(self) -> list[str]:
        return []

    def end_message(self) -> str | None:
        return None

    def keepalive_message(self) -> str | None:
        return None

    def results(self, message: str | bytes) -> list[Words]:
        return []

    def fatal_close(self, code: int | None) -> bool:
        return code == 1008

    def refusal_text(self, status: int, body: bytes) -> str:
        """The engine's words from a refused handshake or request body."""
        try:
            data = json.loads(body)
        except ValueError:
            return f"HTTP {status}: {body[:200].decode(errors='replace')}".strip()
        if isinstance(data, dict):
            words = [str(data[k]) for k in ("err_msg", "message", "error", "reason") if k in data]
            if words:
                return f"HTTP {status}: {words[0]}"
        return f"HTTP {status}"

    # --- helpers for subclasses --------------------------------------------------------------
    async def dial(self, url: str, headers: dict[str, str]) -> ClientConnection:
        """Open `url`; a 4xx answer (but 408/429) is a refusal, anything else a drop."""
        try:
            return await connect(
                url,
                additional_headers=headers,
                open_timeout=self.open_timeout,
                max_size=2**22,
                user_agent_header="egress-dashboard",
            )
        except InvalidStatus as error:
            status = error.response.status_code
            text = self.refusal_text(status, bytes(error.response.body or b""))
            raise (Refused if 400 <= status < 500 and status not in (408, 429) else Dropped)(
                text
            ) from error
        except (OSError, InvalidHandshake, TimeoutError) as error:
            raise Dropped(describe(error)) from error

    def stream_seconds(self, engine_seconds: float) -> float:
        """Seconds from the stream's first audio for a time the engine gave."""
        frames = engine_seconds * SAMPLE_RATE
        base = (0, 0)
        for segment in self._segments:
            if segment[0] > frames + 1:
                break
            base = segment
        return round((base[1] + frames - base[0]) / SAMPLE_RATE, 3)

    def channel_at(self, index: Any) -> str:
        if isinstance(index, int) and 0 <= index < len(self.channels):
            return self.channels[index]
        return self.channels[0]

    def scrub(self, text: str) -> str:
        return self._hide(text)[:300]

    def add_secret(self, value: str) -> None:
        """Something that must never show in a status, like a session URL's token."""
        self._secrets.append(value)
        self._hide = redactor(self._secrets)

    # --- the loop thread ---------------------------------------------------------------------
    def _run(self) -> None:
        try:
            asyncio.run(self._run_main())
        except Exception as error:  # a bug of ours must not leave the status "live"
            self._fail(f"internal error: {describe(error)}")

    async def _run_main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._main = asyncio.current_task()
        with contextlib.suppress(asyncio.CancelledError):
            await self._connect_loop()
        with self._lock:
            self._emit_gap()

    async def _connect_loop(self) -> None:
        failures = 0
        while True:
            try:
                await self._session()
            except Refused as error:
                return self._fail(str(error))
            except Dropped as error:
                self._lose_words(str(error))
                if self._live_since and time.monotonic() - self._live_since >= self.stable_after:
                    failures = 0  # it worked for a while: this is a new outage
                failures += 1
                if failures > self._retries or self._closing.is_set():
                    return self._fail(str(error))
                self._set_status(f"reconnecting ({failures} of {self._retries}): {error}")
                await asyncio.sleep(self._backoff * 2 ** (failures - 1))
            else:
                return self._set_status("ended")

    async def _session(self) -> None:
        """One connection, until it ends because we closed the stream; raises otherwise."""
        self._live_since = 0.0
        socket = await self.open_socket()
        self._live_since = time.monotonic()
        if not self.resumes:
            self._segments, self._engine_frames = [], 0
        self._next_start = -1  # the first chunk of a connection starts a segment
        self._set_status("live")
        sender = asyncio.create_task(self._sender(socket))
        try:
            await self._receiver(socket)
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await sender
            await socket.close()
        self._ended(socket)

    def _ended(self, socket: ClientConnection) -> None:
        code, reason = socket.close_code, socket.close_reason or ""
        if self._closing.is_set() and not self._queue:
            return
        words = f"closed by {self.label} ({code}{': ' + reason if reason else ''})"
        if self.fatal_close(code):
            raise Refused(words)
        raise Dropped(words)

    async def _receiver(self, socket: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in socket:
                found = self.results(message)
                with self._lock:
                    self._results.extend(found)
                    self._follow(found)

    def _follow(self, found: list[Words]) -> None:
        """Which channels are in the middle of words: partials heard, their final not yet."""
        for words in found:
            if words.final:
                self._speaking.pop(words.channel, None)
            else:
                self._speaking.setdefault(words.channel, words.start)

    def _lose_words(self, error: str) -> None:
        """A dropped connection takes the words it was still hearing with it (but a resumed
        session's, which go on): each speaker's, from where they began to the last audio sent,
        is a gap."""
        with self._lock:
            speaking, self._speaking = self._speaking, {}
            if self.resumes:
                return
            end = self._sent_until / SAMPLE_RATE
            reason = self.scrub(f"the connection to {self.label} dropped mid-sentence ({error})")
            for channel, start in speaking.items():
                self._results.append(Gap(channel, start, max(start, end), reason))

    async def _sender(self, socket: ClientConnection) -> None:
        try:
            await self._send_all(socket)
        except ConnectionClosed:
            raise
        except Exception:
            await socket.close(1011, "client error")  # so the receiver stops too
            raise

    async def _send_all(self, socket: ClientConnection) -> None:
        for text in self.start_messages():
            await socket.send(text)
        last = time.monotonic()
        while True:
            batch = self._take()
            if batch:
                await self._send_batch(socket, batch)
                last = time.monotonic()
            elif self._closing.is_set():
                return await self._finish(socket)
            else:
                if self.keepalive_every and time.monotonic() - last > self.keepalive_every:
                    if keepalive := self.keepalive_message():
                        await socket.send(keepalive)
                    last = time.monotonic()
                await asyncio.sleep(IDLE)

    async def _send_batch(self, socket: ClientConnection, batch: list[Chunk]) -> None:
        data = b"".join(c.data for c in batch)
        frames = sum(c.frames for c in batch)
        minimum = self.min_message_ms * SAMPLE_RATE // 1000 * len(self.channels)
        if len(data) < minimum * 2:
            data += bytes(minimum * 2 - len(data))  # the engine refuses shorter messages
        try:
            await socket.send(self.audio_message(data))
        except ConnectionClosed:
            with self._lock:  # not sent: send it again on the next connection
                self._queue.extendleft(reversed(batch))
                self._queued += frames
            raise
        self._record(batch)

    def _take(self) -> list[Chunk]:
        """Queued chunks that follow each other, up to one message's worth."""
        limit = self.max_message_ms * SAMPLE_RATE // 1000
        batch: list[Chunk] = []
        with self._lock:
            while self._queue and sum(c.frames for c in batch) < limit:
                if batch and self._queue[0].start != batch[-1].start + batch[-1].frames:
                    break
                chunk = self._queue.popleft()
                self._queued -= chunk.frames
                batch.append(chunk)
            if batch and self._gap and batch[0].start >= self._gap[1]:
                self._emit_gap()
        return batch

    def _record(self, batch: list[Chunk]) -> None:
        if batch[0].start != self._next_start:
            self._segments.append((self._engine_frames, batch[0].start))
        frames = sum(c.frames for c in batch)
        self._engine_frames += frames
        self._next_start = batch[0].start + frames
        self._sent_until = self._next_start

    async def _finish(self, socket: ClientConnection) -> None:
        """Ask for the last results; the engine closes the socket when it has sent them."""
        text = self.end_message()
        if text is None:
            await socket.close()
            return
        await socket.send(text)
        await asyncio.Event().wait()  # the receiver ends this when the engine closes

    def _set_status(self, text: str, *, failed: bool = False) -> None:
        self._status = Status(self.scrub(text), failed=failed)

    def _fail(self, text: str) -> None:
        with self._lock:  # the gap first: whoever sees "failed" finds it in the next poll
            for chunk in self._queue:
                self._note_drop(chunk, f"{self.label} failed")
            self._queue.clear()
            self._queued = 0
            self._emit_gap()
            self._set_status(f"failed: {text}", failed=True)


def describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "no answer in time"
    if isinstance(error, OSError) and error.strerror:
        return f"cannot connect: {error.strerror}"
    return str(error) or type(error).__name__


def probe(
    engine: Any, settings: EngineSettings, *, seconds: float = 1.0, timeout: float = 10.0
) -> tuple[bool, str]:
    """A profile's Test button: open a real stream, send `seconds` of silence, close it, and
    say in plain words how far it got (the engine's own words when it refused)."""
    stream = engine.open(settings)
    silence = np.zeros(SAMPLE_RATE // 10, np.int16)
    deadline = time.monotonic() + timeout
    while stream.status.text != "live" and not stream.status.failed:
        if time.monotonic() > deadline:
            stream.close(timeout=0.5)
            return False, f"No answer within {timeout:g} s ({stream.status.text})."
        time.sleep(0.05)
    for _ in range(round(seconds * 10)):
        for channel in settings.channels:
            stream.send(channel, silence)
    stream.close(timeout=timeout)
    if stream.status.failed:
        return False, f"Failed: {stream.status.text.removeprefix('failed: ')}"
    if stream.status.text != "ended":
        return False, f"Connected, but the session did not end cleanly ({stream.status.text})."
    return True, f"Connected, sent {seconds:g} s of audio, and the session ended cleanly."
