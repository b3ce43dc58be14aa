"""A session's processor: its taps' chunks from the bus, mixed on a wall clock, measured and
handed to its sinks.

Runs in a thread of its own (one per session, in whichever process processes the session). Each
100 ms tick of the wall clock: everything the bus delivered goes into the mixer (a tap joins
with its first chunk, leaves with its `end` chunk or after `TRACK_IDLE_SECONDS` without one, as
when the web process receiving it died), the mixer ticks (what a tap has not delivered is
silence), the mix is measured (`on_mix`, about 10 times a second) and every sink gets the tick. A
sink that raises is logged and dropped; the others keep going. A processor that falls more than
`MAX_LAG_SECONDS` behind the clock (a paused machine) skips ahead instead of catching up in a
burst.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from egress_app.audio.bus import Chunk, Reader
from egress_app.audio.levels import FLOOR_DBFS, Level, LevelMeter, VoiceActivity, VoiceState
from egress_app.audio.mixer import SAMPLE_RATE, TICK_SECONDS, Mixer, Tick
from egress_app.audio.sinks import TickSink

logger = logging.getLogger(__name__)

TRACK_IDLE_SECONDS = 3.0
MAX_LAG_SECONDS = 1.0


@dataclass(frozen=True)
class MixReading:
    """The mix's meter: its last tick's level and voice state, and how many taps it holds."""

    rms_dbfs: float
    peak_dbfs: float
    state: VoiceState
    tracks: int
    tick: int


class SessionProcessor:
    def __init__(
        self,
        reader: Reader,
        sinks: list[TickSink],
        on_mix: Callable[[MixReading], None],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.reader, self.sinks, self.on_mix, self.clock = reader, sinks, on_mix, clock
        self.sleep = sleep
        self.mixer = Mixer()
        self.meter = LevelMeter(SAMPLE_RATE, TICK_SECONDS)
        self.voice = VoiceActivity()
        self.last = Level(FLOOR_DBFS, FLOOR_DBFS)
        self.heard_at: dict[str, float] = {}  # each tap's last chunk, on the clock
        self.next_seq: dict[str, int] = {}
        self.muted: dict[str, bool] = {}
        self.missed = 0  # chunks the bus lost (gaps in a tap's sequence)
        self.last_chunk_at = clock()
        self.next_tick = clock() + TICK_SECONDS

    def run(self, keep_going: Callable[[], bool], check_every: float = 1.0) -> None:
        """Tick until `keep_going()` (asked about once every `check_every` s) says no."""
        checked = self.clock()
        while True:
            self.step()
            if self.clock() - checked >= check_every:
                checked = self.clock()
                if not keep_going():
                    return

    def step(self) -> None:
        """Wait for the next tick, take in what arrived meanwhile, and tick. (Reading as chunks
        arrive would wake the thread for each: a tick's worth at once costs the process less.)"""
        if (wait := self.next_tick - self.clock()) > 0:
            self.sleep(wait)
        self.take(self.reader.read(0))
        self.tick()
        self.next_tick += TICK_SECONDS
        if self.clock() - self.next_tick > MAX_LAG_SECONDS:
            self.next_tick = self.clock() + TICK_SECONDS

    def take(self, chunks: list[Chunk]) -> None:
        now = self.clock()
        for chunk in chunks:
            track = str(chunk.tap_id)
            self.last_chunk_at = now
            if chunk.end:
                self._leave(track)
                continue
            expected = self.next_seq.get(track)
            if expected is not None and chunk.seq > expected:
                self.missed += chunk.seq - expected
            self.next_seq[track] = chunk.seq + 1
            self.heard_at[track] = now
            self.muted[track] = chunk.muted
            self.mixer.push(track, np.frombuffer(chunk.samples, dtype="<i2"))

    def _leave(self, track: str) -> None:
        self.mixer.remove_track(track)
        for kept in (self.heard_at, self.next_seq, self.muted):
            kept.pop(track, None)

    def tick(self) -> Tick:
        now = self.clock()
        for track in [t for t, at in self.heard_at.items() if now - at > TRACK_IDLE_SECONDS]:
            self._leave(track)
        tick = self.mixer.tick()
        for level in self.meter.feed(tick.mix):
            self.last = level
            self.voice.update(level)
        reading = MixReading(
            self.last.rms_dbfs, self.last.peak_dbfs, self.voice.state, len(tick.tracks), tick.index
        )
        try:
            self.on_mix(reading)
        except Exception:  # a lost reading: the next comes 100 ms later
            logger.exception("Could not publish the mix's level")
        self._write(tick)
        return tick

    def _write(self, tick: Tick) -> None:
        for sink in list(self.sinks):
            try:
                sink.write(tick)
            except Exception:
                logger.exception("Dropped the audio sink %r: it failed", sink)
                self.sinks.remove(sink)
                self._close(sink, ended=False)

    def idle_for(self) -> float:
        """Seconds since the bus last delivered anything."""
        return self.clock() - self.last_chunk_at

    def close(self, *, ended: bool) -> None:
        """Close every sink (`ended`: the session ended) and the reader."""
        for sink in self.sinks:
            self._close(sink, ended=ended)
        self.sinks = []
        self.reader.close()

    @staticmethod
    def _close(sink: TickSink, *, ended: bool) -> None:
        try:
            sink.close(ended=ended)
        except Exception:
            logger.exception("The audio sink %r failed to close", sink)
