"""Configuration of the LiveKit sandbox: credentials, fixture, webhook targets and pacing."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Literal

Fixture = Literal["demo", "empty"]


@dataclass
class Pacing:
    """How long the simulated egress pipeline takes, in seconds.

    `starting`: STARTING -> ACTIVE. `ending`: ENDING -> COMPLETE. `failure`: ACTIVE -> FAILED or
    LIMIT_REACHED for the failure triggers. `abort`: STARTING -> ABORTED for `abort-` rooms.
    `slow_start`: how long a Start* call on a `slow-` room takes to answer. `webhook_backoff`: the
    first retry delay of a webhook delivery (doubles per retry).
    """

    starting: float = 1.0
    ending: float = 1.0
    failure: float = 3.0
    abort: float = 3.0
    slow_start: float = 30.0
    webhook_backoff: float = 1.0

    @classmethod
    def fast(cls) -> Pacing:
        """The pacing used by the test suite: everything settles within a fraction of a second."""
        return cls(
            starting=0.05,
            ending=0.05,
            failure=0.15,
            abort=0.15,
            slow_start=2.0,
            webhook_backoff=0.02,
        )

    @classmethod
    def uniform(cls, seconds: float) -> Pacing:
        """One knob for the command line: transitions take `seconds`, failures three times that."""
        return cls(starting=seconds, ending=seconds, failure=3 * seconds, abort=3 * seconds)

    def updated(self, **seconds: float) -> Pacing:
        known = {f.name for f in fields(self)}
        unknown = set(seconds) - known
        if unknown:
            raise TypeError(f"unknown pacing keys: {sorted(unknown)}; known: {sorted(known)}")
        return replace(self, **{key: float(value) for key, value in seconds.items()})


@dataclass
class SandboxConfig:
    host: str = "127.0.0.1"
    port: int = 7880
    api_key: str = "devkey"
    api_secret: str = "secret"
    webhook_urls: list[str] = field(default_factory=list)
    fixture: Fixture = "demo"
    pacing: Pacing = field(default_factory=Pacing)
    # ListEgress page size; LiveKit OSS ignores paging, Cloud pages, so the sandbox pages.
    page_size: int = 100
    # go-retryablehttp's default: 4 retries after the first attempt.
    webhook_retries: int = 4
    webhook_timeout: float = 5.0
    # LiveKit's room.enable_remote_unmute: may MutePublishedTrack unmute? Off, as in LiveKit.
    enable_remote_unmute: bool = False
