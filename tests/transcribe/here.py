"""Cloud engines dialling a local stand-in (tests/transcribe/standins.py) instead of their
service, for tests that go through the registry and the transcription sink: register one with
`monkeypatch.setitem(registry.ENGINES, kind, "tests.transcribe.here:<Class>")` after setting
`BASE` to the stand-in's address."""

from __future__ import annotations

from egress_app.transcribe.deepgram import DeepgramEngine
from egress_app.transcribe.gladia import GladiaEngine

BASE = ""
FAST = {"backoff": 0.05, "retries": 3}


class DeepgramHere(DeepgramEngine):
    def __init__(self) -> None:
        super().__init__(base=BASE, **FAST)


class GladiaHere(GladiaEngine):
    def __init__(self) -> None:
        super().__init__(api=BASE, **FAST)
