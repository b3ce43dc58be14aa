"""The built-in engine: PocketSphinx (its wheel ships the en-us model), offline, English only.

PocketSphinx decodes in C while holding Python's GIL, so each stream runs in a worker process of
its own (started with `spawn`, never forked from a server with threads and sockets): `send`
puts the audio on a queue and returns, the worker decodes every channel with a decoder and an
endpointer of its own (one channel per participant: each result names its speaker), and `poll`
takes what it said. The endpointer (WebRTC-style voice activity detection) cuts an utterance at
a pause, which gives the final result; while someone speaks, the hypothesis so far comes every
`PARTIAL_SECONDS` as a partial one.

Measured on the sandbox's speech: about 0.1-0.2 CPU-s per audio second and channel, plus about
0.3 s to load the model per channel. A worker that falls more than `BACKLOG_SECONDS` behind drops
audio rather than queue without bound, and says so with a `Gap`.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from egress_app.transcribe.engines import (
    SAMPLE_RATE,
    EngineSettings,
    Gap,
    Samples,
    Status,
    Words,
)

LANGUAGE = "en"
PARTIAL_SECONDS = 0.5
BACKLOG_SECONDS = 10.0
ORPHAN_CHECK_SECONDS = 1.0  # how often a waiting worker checks that its parent still runs
STARTING = Status("starting the built-in engine (PocketSphinx)")
LIVE = Status("live")

Message = tuple[Any, ...]


class BuiltinEngine:
    """PocketSphinx in a worker process per stream, all of the stream's channels in it."""

    multichannel = True
    fixed_channels = False  # a channel's decoder starts with its first audio

    def open(self, settings: EngineSettings) -> BuiltinStream:
        return BuiltinStream(settings)


class BuiltinStream:
    """One session's audio on its way to a PocketSphinx worker process, and what it said."""

    def __init__(self, settings: EngineSettings) -> None:
        context = multiprocessing.get_context("spawn")
        self._audio: multiprocessing.Queue[Message | None] = context.Queue()
        self._results: multiprocessing.Queue[Message] = context.Queue()
        self._process = context.Process(
            target=work,
            args=(self._audio, self._results, os.getpid()),
            name="pocketsphinx",
            daemon=True,
        )
        self._process.start()
        self._status = STARTING
        self._sent: dict[str, int] = {}  # channel -> samples sent (or dropped) so far
        self._dropping: dict[str, int] = {}  # channel -> sample where its dropped audio began
        self._unheard = 0  # samples the worker has not yet said it decoded
        self._backlog = int(BACKLOG_SECONDS * SAMPLE_RATE) * max(1, len(settings.channels))
        self._out: list[Words | Gap] = []
        self._closing = False
        self._closed = False

    @property
    def status(self) -> Status:
        return self._status

    def send(self, channel: str, samples: Samples) -> None:
        if self._closing or self._status.failed:
            return
        start = self._sent.setdefault(channel, max(self._sent.values(), default=0))
        self._sent[channel] = start + len(samples)
        if self._unheard > self._backlog:
            self._dropping.setdefault(channel, start)
            return
        self._end_gap(channel, start)
        self._unheard += len(samples)
        self._audio.put((channel, start, samples.tobytes()))

    def _end_gap(self, channel: str, now: int) -> None:
        began = self._dropping.pop(channel, None)
        if began is not None:
            reason = "the built-in engine fell behind (this machine's CPU is too busy)"
            self._out.append(Gap(channel, began / SAMPLE_RATE, now / SAMPLE_RATE, reason))

    def poll(self) -> list[Words | Gap]:
        self._drain()
        if not self._closed and not self._process.is_alive() and not self._status.failed:
            code = self._process.exitcode
            words = f"failed: the built-in engine's worker stopped (exit code {code})"
            self._status = Status(words, failed=True)
        out, self._out = self._out, []
        return out

    def _drain(self, wait: float = 0.0) -> None:
        """Take what the worker said; with `wait`, block that long for its first message."""
        while True:
            try:
                message = self._results.get(timeout=wait) if wait else self._results.get_nowait()
            except queue.Empty:
                return
            wait = 0.0
            self._take(message)

    def _take(self, message: Message) -> None:
        kind = message[0]
        if kind == "heard":
            self._unheard = max(0, self._unheard - message[1])
        elif kind == "words":
            channel, text, final, start, end, confidence = message[1:]
            self._out.append(Words(channel, text, final, start, end, confidence, LANGUAGE))
        elif kind == "ready":
            self._status = LIVE
        elif kind == "failed":
            self._status = Status(f"failed: {message[1]}", failed=True)
        elif kind == "closed":
            self._closed = True

    def close(self, timeout: float = 5.0) -> None:
        """Have the worker finish its utterances and stop; what it said comes from `poll`."""
        if self._closing:
            return
        self._closing = True
        self._audio.put(None)
        deadline = time.monotonic() + timeout
        while not self._closed and self._process.is_alive():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._drain(wait=min(left, 0.2))
        self._drain()
        self._process.join(0.5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(1.0)
        self._audio.cancel_join_thread()  # a dead worker leaves its queue unread
        self._audio.close()
        self._closed = True


# --- the worker process ---------------------------------------------------------------------------
Emit = Callable[[Message], None]


def work(
    audio: multiprocessing.Queue[Message | None],
    results: multiprocessing.Queue[Message],
    parent: int,
) -> None:
    """The worker process: decode what comes on `audio` per channel until None, then finish every
    channel's utterance and say "closed". Everything it says goes on `results`; `parent` is the
    process that started it (an orphan stops)."""
    try:
        from pocketsphinx import Decoder  # noqa: F401  (a missing wheel says so here)
    except Exception as error:  # the model or library cannot load: say so in its words
        results.put(("failed", f"PocketSphinx could not load: {error}"))
        return
    results.put(("ready",))
    try:
        for channel in decode(audio, results, parent).values():
            channel.finish()
    except Exception as error:  # a decoder's fault: say so, in its words, and stop
        results.put(("failed", f"PocketSphinx stopped: {error!r}"))
        return
    results.put(("closed",))


def decode(
    audio: multiprocessing.Queue[Message | None],
    results: multiprocessing.Queue[Message],
    parent: int,
) -> dict[str, Channel]:
    """Each channel's audio through its decoder, until the stream closes (None)."""
    channels: dict[str, Channel] = {}
    while (item := next_audio(audio, parent)) is not None:
        name, start, data = item
        channel = channels.get(name)
        if channel is None or channel.expected != start:  # new, or audio was dropped
            if channel is not None:
                channel.finish()
            channel = channels[name] = Channel(name, start, results.put)
        channel.feed(data)
        results.put(("heard", len(data) // 2))
    return channels


def next_audio(audio: multiprocessing.Queue[Message | None], parent: int) -> Message | None:
    """The next audio, waiting as long as the process that sends it runs. A parent killed
    without closing the stream (a web process stopped with SIGKILL or Ctrl-C) never says None:
    the worker, now an orphan, exits at once, as nobody will read what it says."""
    while True:
        try:
            return audio.get(timeout=ORPHAN_CHECK_SECONDS)
        except queue.Empty:
            if os.getppid() != parent:
                os._exit(0)


@dataclass
class Channel:
    """One participant's audio through its own endpointer and decoder."""

    name: str
    expected: int  # the stream sample the next audio starts at
    emit: Emit
    decoder: Any = None
    endpointer: Any = None
    buffer: bytes = b""
    frames: int = 0
    partial: str = ""
    offset: float = field(init=False)

    def __post_init__(self) -> None:
        from pocketsphinx import Decoder, Endpointer

        self.offset = self.expected / SAMPLE_RATE
        self.decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
        self.endpointer = Endpointer(sample_rate=SAMPLE_RATE)

    def feed(self, data: bytes) -> None:
        self.expected += len(data) // 2
        self.buffer += data
        size = self.endpointer.frame_bytes
        while len(self.buffer) >= size:
            frame, self.buffer = self.buffer[:size], self.buffer[size:]
            self._frame(frame)

    def _frame(self, frame: bytes) -> None:
        was_speaking = self.endpointer.in_speech
        speech = self.endpointer.process(frame)
        if speech is None:
            return
        if not was_speaking:
            self.decoder.start_utt()
            self.frames, self.partial = 0, ""
        self.decoder.process_raw(speech, full_utt=False)
        if not self.endpointer.in_speech:
            self._final()
            return
        self.frames += 1
        if self.frames % round(PARTIAL_SECONDS / self.endpointer.frame_length) == 0:
            self._partial()

    def _partial(self) -> None:
        hypothesis = self.decoder.hyp()
        text = hypothesis.hypstr if hypothesis is not None else ""
        if text and text != self.partial:
            self.partial = text
            start = self.offset + self.endpointer.speech_start
            end = start + self.frames * self.endpointer.frame_length
            self.emit(("words", self.name, text, False, start, end, None))

    def _final(self) -> None:
        self.decoder.end_utt()
        hypothesis = self.decoder.hyp()
        text = hypothesis.hypstr if hypothesis is not None else ""
        confidence = round(min(1.0, max(0.0, hypothesis.prob)), 3) if hypothesis else None
        start = self.offset + self.endpointer.speech_start
        end = self.offset + self.endpointer.speech_end
        if text or self.partial:  # an empty final clears a partial shown meanwhile
            self.emit(("words", self.name, text, True, start, end, confidence))
        self.partial = ""

    def finish(self) -> None:
        """The stream ends (or jumps): decode what is left of an utterance under way."""
        if not self.endpointer.in_speech:
            return
        # (end_stream refuses an empty frame: a sample of silence stands in for none)
        speech = self.endpointer.end_stream(self.buffer or bytes(2))
        self.buffer = b""
        # It gives b"" when its queue starts with a frame of silence while still in speech,
        # and process_raw raises IndexError on an empty buffer: only real speech goes on.
        if speech:
            self.decoder.process_raw(speech, full_utt=False)
        self._final()
