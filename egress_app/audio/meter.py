"""One tap's meter: egress's binary messages in, its latest level and voice state out.

Fed a batch of messages at a time (about 100 ms of audio), from a worker thread: the numpy work
must not run on the event loop that receives the audio. One meter is fed by one thread at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

from egress_app.audio.levels import FLOOR_DBFS, Level, LevelMeter, VoiceActivity, VoiceState
from egress_app.audio.pcm import SAMPLE_RATE, PcmReassembler


@dataclass(frozen=True)
class Reading:
    """What a meter shows: the last whole window's level and the track's voice state."""

    rms_dbfs: float
    peak_dbfs: float
    state: VoiceState


class TapMeter:
    def __init__(self) -> None:
        self.pcm = PcmReassembler()
        self.levels = LevelMeter(SAMPLE_RATE)
        self.voice = VoiceActivity()
        self.last = Level(FLOOR_DBFS, FLOOR_DBFS)

    def feed(self, messages: list[bytes]) -> Reading:
        """Measure these messages; the reading after the last window they complete."""
        for message in messages:
            for level in self.levels.feed(self.pcm.feed(message)):
                self.voice.update(level)
                self.last = level
        return self.reading()

    def set_muted(self, muted: bool) -> Reading:
        self.voice.set_muted(muted)
        return self.reading()

    def reading(self) -> Reading:
        return Reading(self.last.rms_dbfs, self.last.peak_dbfs, self.voice.state)
