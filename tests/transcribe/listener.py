"""A test-only speech engine: our own `Engine` interface, implemented just far enough to test
what calls it (the engine profiles' Test), with no network. It does not recognise speech: it
says "heard N ms of audio" once it got a second of it.

Its key decides how it behaves, as a real engine's answer would: "wrong-key…" refuses on
connect, "hang" never finishes connecting, "silent" never answers, "refuse-format" refuses the
first audio; any other key works. It quotes its key in its refusals, so that the caller's
redaction is tested.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from egress_app.transcribe import registry
from egress_app.transcribe.engines import (
    SAMPLE_RATE,
    EngineSettings,
    Gap,
    Samples,
    Status,
    Words,
)

KIND = "gladia"  # the kind the tests register it for


@dataclass
class ListenerStream:
    key: str
    received: int = 0
    closed: bool = False
    answered: bool = False
    pending: list[Words | Gap] = field(default_factory=list)
    state: Status = field(default_factory=lambda: Status("live"))

    def send(self, channel: str, samples: Samples) -> None:
        if self.key == "refuse-format":
            self.state = Status(f"failed: 4400 unsupported audio format (key {self.key})", True)
            return
        self.received += len(samples)
        if self.received >= SAMPLE_RATE and not self.answered and self.key != "silent":
            self.answered = True
            ms = 1000 * self.received // SAMPLE_RATE
            self.pending.append(Words(channel, f"heard {ms} ms of audio", False, 0.0, 1.0))

    def poll(self) -> list[Words | Gap]:
        out, self.pending = self.pending, []
        return out

    @property
    def status(self) -> Status:
        return self.state

    def close(self, timeout: float = 5.0) -> None:
        self.closed = True
        if self.answered:
            self.pending.append(Words("mix", "heard it all", True, 0.0, 3.0, 0.9))


class Listener:
    multichannel = False
    fixed_channels = False
    # Every stream opened while `listening`: the registry builds a new engine for each use.
    opened: ClassVar[list[ListenerStream]] = []

    def open(self, settings: EngineSettings) -> ListenerStream:
        key = settings.secrets.get("api_key", "")
        stream = ListenerStream(key)
        if key.startswith("wrong-key"):
            stream.state = Status(f"failed: 401 invalid API key {key}", True)
        elif key == "hang":
            stream.state = Status("connecting")
        self.opened.append(stream)
        return stream


@contextlib.contextmanager
def listening(kind: str = KIND) -> Iterator[type[Listener]]:
    """The listener registered as the engine of `kind` for the duration."""
    before = registry.ENGINES.get(kind)
    registry.ENGINES[kind] = f"{__name__}:Listener"
    Listener.opened = []
    try:
        yield Listener
    finally:
        if before is None:
            del registry.ENGINES[kind]
        else:
            registry.ENGINES[kind] = before
