"""Live audio processing for Track Egress taps: reassembly, resampling, levels and mixing.

A domain package of its own: it imports only the standard library, numpy, soxr and redis
(nothing of Django or of the rest of egress_app), so the web consumer that receives a tap and a
worker command that mixes a session can both run it. `make lint` enforces this (pyproject's
import-linter contracts).

    pcm.py       egress's binary messages -> whole 48 kHz stereo frames; its text frames decoded
    resample.py  48 kHz stereo -> 16 kHz mono, streaming, for speech engines
    levels.py    RMS and peak in dBFS per window; speaking / silent / muted
    mixer.py     a session's tracks mixed in 100 ms ticks, per-track streams kept
    bus.py       each tap's 16 kHz chunks to the session's processor: Redis Streams, or in-process
    processor.py a session's mix on the wall clock: meter and sinks (sinks.py)
"""

from __future__ import annotations
