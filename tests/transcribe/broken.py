"""Engines that fail, as a cloud engine does when its service refuses or its code breaks, for
the transcription sink's tests (registered under a kind with monkeypatch.setitem)."""

from __future__ import annotations

from egress_app.transcribe.engines import EngineSettings, Gap, Samples, Status, Words
from tests.leaked import echoed

REFUSED = "failed: the engine refused the key (401 Unauthorized: invalid API key)"


class RefusingStream:
    def __init__(self) -> None:
        self.sent = 0

    def send(self, channel: str, samples: Samples) -> None:
        self.sent += 1

    def poll(self) -> list[Words | Gap]:
        return []

    @property
    def status(self) -> Status:
        return Status("connecting") if self.sent < 3 else Status(REFUSED, failed=True)

    def close(self, timeout: float = 5.0) -> None:
        pass


class CrashingStream(RefusingStream):
    def send(self, channel: str, samples: Samples) -> None:
        raise ConnectionResetError("the engine's socket broke")


class CrashingEngine:
    multichannel = True
    fixed_channels = False

    def open(self, settings: EngineSettings) -> CrashingStream:
        return CrashingStream()


class LeakyStream(RefusingStream):
    """Quotes the key it was given in its refusal, as some services' error messages do: as it
    is, URL-encoded and in capitals; and so in the reason of the gap it leaves."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key
        self.gaps = [Gap("mix", 0.0, 0.5, echoed(key))]

    def poll(self) -> list[Words | Gap]:
        gaps, self.gaps = self.gaps, []
        return list(gaps)

    @property
    def status(self) -> Status:
        return Status(f"failed: {echoed(self.key)}", failed=True)


class LeakyEngine:
    multichannel = True
    fixed_channels = False

    def open(self, settings: EngineSettings) -> LeakyStream:
        return LeakyStream(settings.secrets["api_key"])
