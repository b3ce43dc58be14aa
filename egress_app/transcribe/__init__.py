"""Speech-to-text engines for live audio sessions, behind one small interface (engines.py).

A domain package like egress_app/audio: it imports nothing of Django or of the rest of
egress_app (make lint checks), so a web process, the audio worker and a test can all run it.

    engines.py   the interface every engine implements, and what an engine says back
    registry.py  which engine each profile kind runs (`engine_for`): one line per engine
    builtin.py   PocketSphinx, offline, in a worker process per stream
"""

from __future__ import annotations
