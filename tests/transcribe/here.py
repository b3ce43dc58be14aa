"""Cloud engines dialling a local stand-in (tests/transcribe/standins.py) instead of their
service, for tests that go through the registry and the transcription sink: register one with
`dial(monkeypatch, <Class>, <the stand-in's address>)`."""

from __future__ import annotations

import pytest

from egress_app.transcribe import registry
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


def dial(
    monkeypatch: pytest.MonkeyPatch, engine: type[DeepgramHere | GladiaHere], base: str
) -> None:
    """Register `engine` for its kind (Deepgram's, Gladia's), dialling the stand-in at `base`."""
    monkeypatch.setattr(f"{__name__}.BASE", base)
    kind = engine.__name__.removesuffix("Here").lower()
    monkeypatch.setitem(registry.ENGINES, kind, f"{__name__}:{engine.__name__}")


class DeepgramTight(DeepgramEngine):
    """Half a second of buffer and a second before trying again: a drop loses audio."""

    def __init__(self) -> None:
        super().__init__(base=BASE, buffer_seconds=0.5, backoff=1.0, retries=3)
