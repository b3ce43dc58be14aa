"""Level meters: RMS and peak in dBFS per window, and whether a track is speaking.

dBFS here is relative to the int16 full scale (32768) for both figures, so a full-scale square
wave reads 0 dBFS RMS and peak, and a sine wave reads 3 dB less RMS than peak (the sandbox's
-12 dBFS tone: -12 peak, -15 RMS). Digital silence reads `FLOOR_DBFS` (about the quietest a
16-bit signal gets), never -inf or NaN, so the figures are safe in JSON and on a meter.

A window's samples are all of its channels' values together: the RMS of both channels, the
highest absolute value on either.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

FULL_SCALE = 32768.0
FLOOR_DBFS = -96.0
WINDOW_SECONDS = 0.1
SPEAKING_THRESHOLD_DBFS = -45.0
HANGOVER_SECONDS = 0.5


def dbfs(value: float) -> float:
    """An amplitude (in int16 units) in dBFS, never below `FLOOR_DBFS`."""
    if not value > 0:  # also NaN
        return FLOOR_DBFS
    return max(FLOOR_DBFS, 20 * math.log10(value / FULL_SCALE))


@dataclass(frozen=True)
class Level:
    rms_dbfs: float
    peak_dbfs: float


class LevelMeter:
    """One track's levels, one `Level` per whole window of `window_seconds` fed so far.

    Samples arrive as int16 arrays, (n,) mono or (n, channels), in chunks of any size; a window
    that a chunk leaves unfinished is completed by the next.
    """

    def __init__(self, sample_rate: int, window_seconds: float = WINDOW_SECONDS) -> None:
        self.window_frames = round(sample_rate * window_seconds)
        if self.window_frames < 1:
            raise ValueError("the window holds no sample")
        self._frames = 0
        self._values = 0
        self._sum_squares = 0.0
        self._peak = 0

    def feed(self, samples: np.ndarray[Any, np.dtype[np.int16]]) -> list[Level]:
        levels: list[Level] = []
        start = 0
        while start < len(samples):
            take = min(self.window_frames - self._frames, len(samples) - start)
            self._add(samples[start : start + take])
            start += take
            if self._frames == self.window_frames:
                levels.append(self._close_window())
        return levels

    def _add(self, part: np.ndarray[Any, np.dtype[np.int16]]) -> None:
        values = part.reshape(-1).astype(np.float64)
        self._sum_squares += float(np.dot(values, values))
        self._peak = max(self._peak, int(part.max()), -int(part.min()))
        self._frames += len(part)
        self._values += values.size

    def _close_window(self) -> Level:
        level = Level(
            rms_dbfs=dbfs(math.sqrt(self._sum_squares / self._values)),
            peak_dbfs=dbfs(self._peak),
        )
        self._frames = self._values = self._peak = 0
        self._sum_squares = 0.0
        return level


class VoiceState(enum.StrEnum):
    SPEAKING = "speaking"
    SILENT = "silent"
    MUTED = "muted"


class VoiceActivity:
    """speaking / silent / muted, one window at a time.

    The rule: muted whenever egress last said `{"muted": true}` (the track is muted, or no packet
    came for 2 s), whatever the audio (egress sends zeros then). Otherwise a window whose RMS is at
    or above `threshold_dbfs` makes the track speaking, and it stays speaking through up to
    `hangover_windows` quieter windows in a row (the pauses between words), turning silent at the
    next one. A track starts silent, and is silent again when unmuted until it is heard.
    """

    def __init__(
        self,
        threshold_dbfs: float = SPEAKING_THRESHOLD_DBFS,
        hangover_windows: int = round(HANGOVER_SECONDS / WINDOW_SECONDS),
    ) -> None:
        self.threshold_dbfs = threshold_dbfs
        self.hangover_windows = hangover_windows
        self.muted = False
        self._quiet_windows: int | None = None  # since the last loud one; None: not heard

    @property
    def state(self) -> VoiceState:
        if self.muted:
            return VoiceState.MUTED
        if self._quiet_windows is not None and self._quiet_windows <= self.hangover_windows:
            return VoiceState.SPEAKING
        return VoiceState.SILENT

    def set_muted(self, muted: bool) -> VoiceState:
        self.muted = muted
        self._quiet_windows = None
        return self.state

    def update(self, level: Level) -> VoiceState:
        if self.muted:
            return self.state
        if level.rms_dbfs >= self.threshold_dbfs:
            self._quiet_windows = 0
        elif self._quiet_windows is not None:
            quiet = self._quiet_windows + 1
            self._quiet_windows = quiet if quiet <= self.hangover_windows else None
        return self.state
