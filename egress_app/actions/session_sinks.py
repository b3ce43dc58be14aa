"""The sinks a running audio session feeds (egress_app/audio/sinks.py), chosen by the session.

Each factory looks at the session and gives a sink, or None when the session does not ask for
it (a recording of the mix when a storage profile was picked; a transcription engine). The
processor that mixes the session asks `sinks_for` once, when it takes the session up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from egress_app.actions.recordings import recording_sink
from egress_app.actions.transcription import transcription_sink
from egress_app.audio.sinks import TickSink
from egress_app.models import AudioSession

logger = logging.getLogger(__name__)

SinkFactory = Callable[[AudioSession], TickSink | None]

# Add a feature's factory here.
FACTORIES: list[SinkFactory] = [recording_sink, transcription_sink]


def sinks_for(session_id: int) -> list[TickSink]:
    """The session's sinks; a factory that fails is logged and skipped, never the others."""
    session = AudioSession.objects.get(pk=session_id)
    sinks = []
    for factory in FACTORIES:
        try:
            sink = factory(session)
        except Exception:
            logger.exception("Could not set up %s for %s", factory.__name__, session)
            continue
        if sink is not None:
            sinks.append(sink)
    return sinks
