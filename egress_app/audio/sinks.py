"""Where a session's mixed audio goes besides its meter: a recorder, a speech engine, a relay.

The session's processor (whichever process mixes the session) calls `write` with every 100 ms
tick of the mixer (egress_app/audio/mixer.py: the mix and each track's own aligned samples, 16 kHz
mono int16), in the processor's own thread, never on an event loop that receives audio; a sink
must return quickly (buffer, or hand heavy work to its own thread). `close` comes once, when the
session ends or its processing stops (`ended` says which: a processor that stops because its
process shuts down leaves the session to the next one); slow work such as an upload may run there.
A sink that raises is logged and dropped by the processor; the others keep going.
"""

from __future__ import annotations

from typing import Protocol

from egress_app.audio.mixer import Tick


class TickSink(Protocol):
    def write(self, tick: Tick) -> None: ...

    def close(self, *, ended: bool) -> None: ...
