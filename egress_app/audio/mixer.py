"""A session's tracks mixed into one stream, in step, in ticks of 100 ms.

Each track pushes its 16 kHz mono samples as they come (from `resample.Downsampler`); whoever
owns the clock (the worker processing the session) calls `tick()` every 100 ms, and each tick
takes 1600 samples from every track: what a track has not delivered yet is silence, so a late or
stalled track never holds the others back. Tracks join with `add_track` and leave with
`remove_track` at any moment; a track that leaves is still heard until what it had delivered runs
out.

Clipping: the sum of the tracks (in float32) is scaled by 1/sqrt(n), n the tracks in the mix,
which keeps the loudness of uncorrelated voices about even as people join and leave; where the
scaled sum still passes `KNEE` (about -3 dBFS, for instance two people shouting at once) a soft
clip (tanh) bends it below full scale instead of cutting it, and those samples are counted.

Backlog: a track holds at most `max_backlog_seconds` of audio not yet mixed (a tick driver that
fell behind, a burst after a network stall); beyond that the oldest samples are dropped and
counted, so memory stays bounded and the mix catches up with the present.

Each tick also hands out every track's own 1600 aligned samples, for engines that take one
channel per participant and so keep who said what.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

SAMPLE_RATE = 16_000
TICK_SECONDS = 0.1
MAX_BACKLOG_SECONDS = 5.0
FULL_SCALE = 32767.0
KNEE = 0.7  # of full scale, about -3 dBFS: below it the mix is untouched

Samples = np.ndarray[Any, np.dtype[np.int16]]


@dataclass
class TrackStats:
    received: int = 0  # samples pushed
    mixed: int = 0  # samples of its own audio that went into ticks
    filled: int = 0  # samples of silence put in for audio not there yet
    dropped: int = 0  # samples dropped, oldest first, beyond the backlog


@dataclass(frozen=True)
class Tick:
    index: int
    mix: Samples
    tracks: dict[str, Samples]  # every track of this tick, its own samples aligned with `mix`
    soft_clipped: int  # samples of `mix` the soft clip bent


class _Track:
    def __init__(self) -> None:
        self.chunks: deque[Samples] = deque()
        self.pending = 0
        self.leaving = False
        self.stats = TrackStats()

    def push(self, samples: Samples, limit: int) -> None:
        self.chunks.append(samples)
        self.pending += len(samples)
        self.stats.received += len(samples)
        excess = self.pending - limit
        while excess > 0:
            oldest = self.chunks[0]
            cut = min(excess, len(oldest))
            if cut == len(oldest):
                self.chunks.popleft()
            else:
                self.chunks[0] = oldest[cut:]
            self.pending -= cut
            self.stats.dropped += cut
            excess -= cut

    def take(self, count: int) -> Samples:
        out = np.zeros(count, dtype=np.int16)
        filled = 0
        while filled < count and self.chunks:
            chunk = self.chunks[0]
            part = min(count - filled, len(chunk))
            out[filled : filled + part] = chunk[:part]
            if part == len(chunk):
                self.chunks.popleft()
            else:
                self.chunks[0] = chunk[part:]
            filled += part
        self.pending -= filled
        self.stats.mixed += filled
        self.stats.filled += count - filled
        return out


class Mixer:
    def __init__(
        self,
        sample_rate: int = SAMPLE_RATE,
        tick_seconds: float = TICK_SECONDS,
        max_backlog_seconds: float = MAX_BACKLOG_SECONDS,
    ) -> None:
        self.tick_samples = round(sample_rate * tick_seconds)
        self.backlog_limit = round(sample_rate * max_backlog_seconds)
        self.ticks = 0
        self._tracks: dict[str, _Track] = {}

    @property
    def track_ids(self) -> list[str]:
        return list(self._tracks)

    def add_track(self, track_id: str) -> None:
        """Joins from the next tick on (again, if it was leaving)."""
        track = self._tracks.setdefault(track_id, _Track())
        track.leaving = False

    def remove_track(self, track_id: str) -> None:
        """Leaves once what it delivered has been mixed; unknown ids are ignored."""
        track = self._tracks.get(track_id)
        if track is not None:
            track.leaving = True
            if not track.pending:
                del self._tracks[track_id]

    def push(self, track_id: str, samples: Samples) -> None:
        """A track's next 16 kHz mono samples; an unknown track joins."""
        if track_id not in self._tracks:
            self.add_track(track_id)
        self._tracks[track_id].push(samples, self.backlog_limit)

    def pending(self, track_id: str) -> int:
        track = self._tracks.get(track_id)
        return track.pending if track is not None else 0

    def stats(self, track_id: str) -> TrackStats | None:
        track = self._tracks.get(track_id)
        return track.stats if track is not None else None

    def tick(self) -> Tick:
        count = self.tick_samples
        tracks = {track_id: track.take(count) for track_id, track in self._tracks.items()}
        for track_id in [
            t for t, track in self._tracks.items() if track.leaving and not track.pending
        ]:
            del self._tracks[track_id]
        mix, soft_clipped = mix_down(list(tracks.values()), count)
        self.ticks += 1
        return Tick(index=self.ticks - 1, mix=mix, tracks=tracks, soft_clipped=soft_clipped)


def mix_down(tracks: list[Samples], count: int) -> tuple[Samples, int]:
    """Equal-length tracks summed, scaled by 1/sqrt(n), soft-clipped above `KNEE`."""
    if not tracks:
        return np.zeros(count, dtype=np.int16), 0
    total = np.zeros(count, dtype=np.float32)
    for samples in tracks:
        total += samples
    total *= 1 / (FULL_SCALE * math.sqrt(len(tracks)))
    over = np.abs(total) > KNEE
    soft_clipped = int(np.count_nonzero(over))
    if soft_clipped:
        loud = total[over]
        room = 1 - KNEE
        total[over] = np.sign(loud) * (KNEE + room * np.tanh((np.abs(loud) - KNEE) / room))
    return np.rint(total * FULL_SCALE).astype(np.int16), soft_clipped
