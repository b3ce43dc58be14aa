"""What every speech-to-text engine implements, and what it says back.

The session's transcription sink (egress_app/actions/transcription.py) opens one `EngineStream`
when the session's mix processor takes the session up, then every 100 ms hands it the tick's
audio: 16 kHz mono int16 per channel, a channel being a track id (one per participant, for
engines that keep who said what) or `MIX`. It calls `send` and `poll` from the processor's
thread; both must return at once: an engine does its network or CPU work in its own thread or
process (PocketSphinx holds the GIL: it runs in a worker process), never in the caller's.

An engine reports its state in plain words (`status`), reconnects by itself within its bounds,
and never raises from `send` or `poll` for a network fault: it says so in `status` and, when it
had to drop audio, in a `Gap`. `close` flushes what it can (the last final results come from
the next `poll`, or are lost after `timeout` seconds) and ends the stream.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

SAMPLE_RATE = 16_000
MIX = "mix"

Samples = np.ndarray[Any, np.dtype[np.int16]]


@dataclass(frozen=True)
class Words:
    """A result: `final` ones are kept, partial ones only shown (the next replaces them)."""

    channel: str  # the track id it came from, or MIX
    text: str
    final: bool
    start: float  # seconds from the stream's first audio
    end: float
    confidence: float | None = None
    language: str = ""


@dataclass(frozen=True)
class Gap:
    """Audio the engine never heard (a reconnect, a full buffer): from `start` to `end` seconds."""

    channel: str
    start: float
    end: float
    reason: str


@dataclass(frozen=True)
class Status:
    """The engine's state in plain words, e.g. "connecting", "live", "reconnecting (2 of 5):
    <engine's words>", "failed: <engine's words>"."""

    text: str
    failed: bool = False


@dataclass(frozen=True)
class EngineSettings:
    """What a stream is opened with: the profile's config and decrypted secrets (never logged),
    the channels it will be sent (track ids with speaker names, or just MIX), the language(s)."""

    config: Mapping[str, Any]
    secrets: Mapping[str, str]
    channels: Sequence[str]
    languages: Sequence[str] = ()
    names: Mapping[str, str] = field(default_factory=dict)  # channel -> speaker name


class EngineStream(Protocol):
    def send(self, channel: str, samples: Samples) -> None: ...

    def poll(self) -> list[Words | Gap]: ...

    @property
    def status(self) -> Status: ...

    def close(self, timeout: float = 5.0) -> None: ...


class Engine(Protocol):
    """An engine kind: opens streams; says whether it takes several channels in one stream,
    and whether a stream keeps the channels it was opened with (`fixed_channels`: a channel
    it was not opened with is ignored, so the sink opens it again with the newcomer)."""

    multichannel: bool
    fixed_channels: bool

    def open(self, settings: EngineSettings) -> EngineStream: ...
