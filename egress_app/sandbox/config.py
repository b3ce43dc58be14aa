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
class AudioConfig:
    """What a Track Egress websocket carries, and how egress's sink paces it.

    `source`: "speech" (each demo participant's microphone says its sentences from
    assets/speech.json; other tracks carry the tone) or "tone" (a 440 Hz tone everywhere, for level
    tests). `frame_seconds`: audio per binary message (egress's GStreamer buffers are 10 ms).
    `ping_interval`: seconds between egress's "ping" pings (E:pkg/pipeline/sink/websocket.go
    `pingPeriod`, 30 s). `inactive_after`: seconds without packets before a stalled track reads as
    muted (E:pkg/config/service.go `defaultJitterBufferLatency`, 2 s).
    """

    source: Literal["speech", "tone"] = "speech"
    frame_seconds: float = 0.01
    ping_interval: float = 30.0
    inactive_after: float = 2.0

    def updated(self, **values: object) -> AudioConfig:
        known = {f.name for f in fields(self)}
        unknown = set(values) - known
        if unknown:
            raise TypeError(f"unknown audio keys: {sorted(unknown)}; known: {sorted(known)}")
        changed = replace(self, **values)  # type: ignore[arg-type]
        if changed.source not in ("speech", "tone"):
            raise ValueError("source must be 'speech' or 'tone'")
        for name in ("frame_seconds", "ping_interval", "inactive_after"):
            value = getattr(changed, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"{name} must be a positive number of seconds")
            setattr(changed, name, float(value))
        if not 0.001 <= changed.frame_seconds <= 1.0:
            raise ValueError("frame_seconds must be between 0.001 and 1")
        return changed


@dataclass(frozen=True)
class StorageEndpoints:
    """Where the sandbox reaches Google Cloud Storage and Azure Blob Storage (egress itself has
    no such setting: it always talks to the public services). Empty: simulated, nothing written.
    `azure_blob` may contain {account_name}, like the dashboard's AZURE_BLOB_ENDPOINT."""

    gcs: str = ""
    azure_blob: str = ""


@dataclass
class SandboxConfig:
    host: str = "127.0.0.1"
    port: int = 7880
    api_key: str = "devkey"
    api_secret: str = "secret"
    # More API keys the server knows (name -> secret), as LiveKit's `keys:` map: a Start
    # request's webhook may name one as its `signing_key`. Twirp calls use `api_key` alone.
    other_keys: dict[str, str] = field(default_factory=dict)
    webhook_urls: list[str] = field(default_factory=list)
    fixture: Fixture = "demo"
    pacing: Pacing = field(default_factory=Pacing)
    audio: AudioConfig = field(default_factory=AudioConfig)
    # ListEgress page size; LiveKit OSS ignores paging, Cloud pages, so the sandbox pages.
    page_size: int = 100
    # go-retryablehttp's default: 4 retries after the first attempt.
    webhook_retries: int = 4
    webhook_timeout: float = 5.0
    # LiveKit's room.enable_remote_unmute: may MutePublishedTrack unmute? Off, as in LiveKit.
    enable_remote_unmute: bool = False
    # Emulators to really write GCS / Azure outputs to (see stores.py for the whole rule).
    storage: StorageEndpoints = field(default_factory=StorageEndpoints)

    def secret_for(self, key: str) -> str:
        """The secret of API key `key` ("" for a key the server does not know)."""
        return self.api_secret if key == self.api_key else self.other_keys.get(key, "")
