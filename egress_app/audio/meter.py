"""One tap's meter: egress's binary messages in, its latest level and voice state out.

Fed a batch of messages at a time (about 100 ms of audio), from a worker thread: the numpy work
must not run on the event loop that receives the audio. One meter is fed by one thread at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from egress_app.audio.levels import FLOOR_DBFS, Level, LevelMeter, VoiceActivity, VoiceState
from egress_app.audio.pcm import CHANNELS, SAMPLE_RATE, PcmReassembler
from egress_app.audio.resample import Downsampler, Samples


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
        self.downsampler: Downsampler | None = None

    def feed(self, messages: list[bytes]) -> Reading:
        """Measure these messages; the reading after the last window they complete."""
        for message in messages:
            self._measure(self.pcm.feed(message))
        return self.reading()

    def feed_and_resample(self, messages: list[bytes]) -> tuple[Reading, Samples]:
        """Measure these messages, and their audio as 16 kHz mono for the session's mix (one
        resampler call for the batch: its cost is mostly per call)."""
        frames = [self.pcm.feed(message) for message in messages]
        for part in frames:
            self._measure(part)
        whole = np.concatenate(frames) if frames else np.zeros((0, CHANNELS), dtype=np.int16)
        if self.downsampler is None:
            self.downsampler = Downsampler()
        return self.reading(), self.downsampler.process(whole)

    def _measure(self, frames: np.ndarray[Any, np.dtype[np.int16]]) -> None:
        for level in self.levels.feed(frames):
            self.voice.update(level)
            self.last = level

    def set_muted(self, muted: bool) -> Reading:
        self.voice.set_muted(muted)
        return self.reading()

    def reading(self) -> Reading:
        return Reading(self.last.rms_dbfs, self.last.peak_dbfs, self.voice.state)
