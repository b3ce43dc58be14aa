"""A tap's meter: egress's messages in, the last window's level and the voice state out."""

from __future__ import annotations

import numpy as np
import pytest

from egress_app.audio.levels import FLOOR_DBFS, VoiceState
from egress_app.audio.meter import TapMeter


def tone(seconds: float, dbfs: float = -12.0) -> bytes:
    frames = np.arange(round(48_000 * seconds))
    wave = np.sin(2 * np.pi * 440 * frames / 48_000) * 32768 * 10 ** (dbfs / 20)
    return np.repeat(wave.astype("<i2")[:, None], 2, axis=1).tobytes()


def test_it_reads_a_tone_fed_in_odd_sized_messages() -> None:
    audio = tone(0.1)
    messages = [audio[start : start + 1001] for start in range(0, len(audio), 1001)]

    reading = TapMeter().feed(messages)

    assert reading.peak_dbfs == pytest.approx(-12.0, abs=0.1)
    assert reading.rms_dbfs == pytest.approx(-15.0, abs=0.1)
    assert reading.state == VoiceState.SPEAKING


def test_it_starts_at_the_floor_and_silent() -> None:
    reading = TapMeter().feed([tone(0.05)])  # half a window: no level yet

    assert (reading.rms_dbfs, reading.peak_dbfs) == (FLOOR_DBFS, FLOOR_DBFS)
    assert reading.state == VoiceState.SILENT


def test_it_says_muted_whatever_the_audio() -> None:
    meter = TapMeter()

    assert meter.set_muted(True).state == VoiceState.MUTED
    assert meter.feed([tone(0.2)]).state == VoiceState.MUTED
    assert meter.set_muted(False).state == VoiceState.SILENT
