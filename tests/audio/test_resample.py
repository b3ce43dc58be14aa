"""48 kHz stereo to 16 kHz mono, streaming, with a real anti-aliasing filter."""

from __future__ import annotations

import numpy as np
import pytest

from egress_app.audio.resample import Downsampler, downmix

RATE = 48_000


def _stereo_tone(hz: float, seconds: float, amplitude: float = 8000.0) -> np.ndarray:
    t = np.arange(round(RATE * seconds)) / RATE
    mono = np.round(amplitude * np.sin(2 * np.pi * hz * t)).astype(np.int16)
    return np.stack([mono, mono], axis=1)


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


def _one_shot(frames: np.ndarray) -> np.ndarray:
    downsampler = Downsampler()
    return np.concatenate([downsampler.process(frames), downsampler.flush()])


def test_it_averages_the_two_channels() -> None:
    frames = np.array([[100, 300], [-32768, -32768], [32767, 32767], [-5, 4]], dtype=np.int16)
    np.testing.assert_array_equal(downmix(frames), [200, -32768, 32767, -1])


def test_it_refuses_frames_that_are_not_stereo() -> None:
    with pytest.raises(ValueError, match="shape"):
        downmix(np.zeros(10, dtype=np.int16))


def test_it_gives_a_third_of_the_samples_as_int16() -> None:
    out = _one_shot(_stereo_tone(1000, 1.0))
    assert out.dtype == np.int16
    assert len(out) == 16_000


def test_it_adds_nothing_at_chunk_boundaries() -> None:
    frames = _stereo_tone(1000, 2.0)
    whole = _one_shot(frames)
    rng = np.random.default_rng(14)
    downsampler = Downsampler()
    parts, start = [], 0
    while start < len(frames):
        size = int(rng.integers(1, 2000))
        parts.append(downsampler.process(frames[start : start + size]))
        start += size
    parts.append(downsampler.flush())
    chunked = np.concatenate(parts)
    assert len(chunked) == len(whole)
    # The same filter state throughout: at most int16 rounding apart, no click anywhere.
    assert np.max(np.abs(chunked.astype(np.int32) - whole)) <= 4


def test_it_keeps_a_tone_below_8_khz() -> None:
    frames = _stereo_tone(1000, 1.0)
    out = _one_shot(frames)
    assert abs(20 * np.log10(_rms(out[800:-800]) / _rms(frames[:, 0]))) < 0.1


def test_it_attenuates_a_tone_above_8_khz_by_40_db() -> None:
    frames = _stereo_tone(10_000, 1.0)
    out = _one_shot(frames)
    attenuation = 20 * np.log10(_rms(frames[:, 0]) / max(_rms(out[800:-800]), 1e-9))
    assert attenuation >= 40
