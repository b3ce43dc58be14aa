"""Which engine each engine profile's kind runs (EngineKind's values: egress_app.models).

One line per engine, "module:class", imported only when a profile of that kind is used: an
engine's SDK loads in the processes that transcribe with it, and nowhere else.
"""

from __future__ import annotations

from importlib import import_module
from typing import cast

from egress_app.transcribe.engines import Engine

ENGINES: dict[str, str] = {
    "builtin": "egress_app.transcribe.builtin:BuiltinEngine",
    "gladia": "egress_app.transcribe.gladia:GladiaEngine",
    "deepgram": "egress_app.transcribe.deepgram:DeepgramEngine",
    "assemblyai": "egress_app.transcribe.assemblyai:AssemblyAIEngine",
    "forward": "egress_app.transcribe.forward:ForwardEngine",
}


class UnknownEngine(LookupError):
    """No engine is registered for this kind (a profile of a kind this version does not run)."""


def engine_for(kind: str) -> Engine:
    """A fresh engine of `kind`, or UnknownEngine naming it."""
    try:
        module, name = ENGINES[kind].split(":")
    except KeyError:
        words = f"This dashboard has no speech-to-text engine of kind {kind!r}."
        raise UnknownEngine(words) from None
    return cast(Engine, getattr(import_module(module), name)())
