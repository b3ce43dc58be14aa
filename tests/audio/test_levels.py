"""Level meters in dBFS per window, and the speaking / silent / muted state."""

from __future__ import annotations

import math

import numpy as np
import pytest

from egress_app.audio.levels import FLOOR_DBFS, Level, LevelMeter, VoiceActivity, VoiceState, dbfs
from egress_app.audio.pcm import PcmReassembler
from egress_app.sandbox import speech


def test_it_reads_silence_as_the_floor() -> None:
    [level] = LevelMeter(48_000).feed(np.zeros((4800, 2), dtype=np.int16))
    assert level == Level(rms_dbfs=FLOOR_DBFS, peak_dbfs=FLOOR_DBFS)
    assert math.isfinite(level.rms_dbfs)


@pytest.mark.parametrize("value", [0.0, -1.0, float("nan"), 1e-30])
def test_it_never_gives_infinity_or_nan(value: float) -> None:
    assert dbfs(value) == FLOOR_DBFS


def test_it_reads_a_full_scale_square_as_0_dbfs() -> None:
    square = np.where(np.arange(4800) % 48 < 24, 32767, -32768).astype(np.int16)
    [level] = LevelMeter(48_000).feed(np.stack([square, square], axis=1))
    assert level.peak_dbfs == pytest.approx(0.0, abs=0.01)
    assert level.rms_dbfs == pytest.approx(0.0, abs=0.01)


def test_it_reads_the_sandbox_tone_as_minus_12_peak_and_minus_15_rms() -> None:
    frames = PcmReassembler().feed(speech.tone())
    levels = LevelMeter(48_000).feed(frames)
    assert len(levels) == 10  # one second, 100 ms windows
    for level in levels:
        assert level.peak_dbfs == pytest.approx(-12.0, abs=0.1)
        assert level.rms_dbfs == pytest.approx(-15.0, abs=0.1)


def test_it_completes_a_window_across_chunks_of_any_size() -> None:
    frames = PcmReassembler().feed(speech.tone())
    meter = LevelMeter(48_000)
    rng = np.random.default_rng(14)
    levels, start = [], 0
    while start < len(frames):
        size = int(rng.integers(1, 3000))
        levels += meter.feed(frames[start : start + size])
        start += size
    assert levels == LevelMeter(48_000).feed(frames)


def test_it_measures_16_khz_mono_too() -> None:
    meter = LevelMeter(16_000, window_seconds=0.1)
    assert meter.window_frames == 1600
    [level] = meter.feed(np.full(1600, -16384, dtype=np.int16))
    assert level.peak_dbfs == pytest.approx(-6.02, abs=0.01)


def _level(rms: float) -> Level:
    return Level(rms_dbfs=rms, peak_dbfs=rms + 3)


def test_it_starts_silent_and_speaks_above_the_threshold() -> None:
    activity = VoiceActivity(threshold_dbfs=-45, hangover_windows=3)
    assert activity.state is VoiceState.SILENT
    assert activity.update(_level(-60)) is VoiceState.SILENT
    assert activity.update(_level(-30)) is VoiceState.SPEAKING


def test_it_keeps_speaking_through_the_hangover() -> None:
    activity = VoiceActivity(threshold_dbfs=-45, hangover_windows=3)
    activity.update(_level(-30))
    states = [activity.update(_level(-80)) for _ in range(4)]
    assert states == [VoiceState.SPEAKING] * 3 + [VoiceState.SILENT]
    assert activity.update(_level(-80)) is VoiceState.SILENT


def test_it_is_muted_whatever_the_audio() -> None:
    activity = VoiceActivity()
    activity.update(_level(-20))
    assert activity.set_muted(True) is VoiceState.MUTED
    assert activity.update(_level(-10)) is VoiceState.MUTED
    assert activity.set_muted(False) is VoiceState.SILENT
    assert activity.update(_level(-10)) is VoiceState.SPEAKING
