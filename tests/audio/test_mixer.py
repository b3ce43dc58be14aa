"""A session's tracks mixed in 100 ms ticks: silence for what is missing, no clipping, bounded."""

from __future__ import annotations

import math

import numpy as np

from egress_app.audio.mixer import Mixer, mix_down


def _constant(value: int, count: int) -> np.ndarray:
    return np.full(count, value, dtype=np.int16)


def test_it_takes_1600_samples_per_track_per_tick() -> None:
    mixer = Mixer()
    mixer.push("a", _constant(1000, 4000))
    ticks = [mixer.tick() for _ in range(3)]
    assert [len(tick.mix) for tick in ticks] == [1600, 1600, 1600]
    assert mixer.pending("a") == 0
    np.testing.assert_array_equal(ticks[0].mix, _constant(1000, 1600))
    np.testing.assert_array_equal(ticks[2].mix[:800], _constant(1000, 800))


def test_it_fills_missing_audio_with_silence() -> None:
    mixer = Mixer()
    mixer.push("a", _constant(1000, 1000))
    tick = mixer.tick()
    np.testing.assert_array_equal(tick.tracks["a"][:1000], _constant(1000, 1000))
    np.testing.assert_array_equal(tick.tracks["a"][1000:], np.zeros(600, dtype=np.int16))
    stats = mixer.stats("a")
    assert stats is not None
    assert (stats.received, stats.mixed, stats.filled) == (1000, 1000, 600)


def test_it_keeps_a_stalled_track_from_holding_back_the_others() -> None:
    mixer = Mixer()
    mixer.add_track("stalled")
    mixer.push("talking", _constant(2000, 1600))
    tick = mixer.tick()
    assert set(tick.tracks) == {"stalled", "talking"}
    assert not tick.tracks["stalled"].any()
    np.testing.assert_array_equal(tick.tracks["talking"], _constant(2000, 1600))


def test_it_scales_the_sum_by_one_over_the_square_root_of_the_tracks() -> None:
    mixer = Mixer()
    for track in ("a", "b", "c", "d"):
        mixer.push(track, _constant(1000, 1600))
    tick = mixer.tick()
    np.testing.assert_array_equal(tick.mix, _constant(2000, 1600))  # 4000 / sqrt(4)
    assert tick.soft_clipped == 0


def test_it_soft_clips_instead_of_clipping() -> None:
    full = _constant(32767, 1600)
    mix, soft_clipped = mix_down([full, full, -full], 1600)
    assert soft_clipped == 0  # 32767 / sqrt(3): no need
    mix, soft_clipped = mix_down([full, full], 1600)
    assert soft_clipped == 1600
    assert 0.9 * 32767 < int(mix.max()) < 32767


def test_it_keeps_soft_clipping_smooth_and_signed() -> None:
    ramp = np.linspace(-32768, 32767, 1600).astype(np.int16)
    mix, _ = mix_down([ramp, ramp, ramp], 1600)
    assert np.all(np.diff(mix.astype(np.int32)) >= 0)  # monotonic: no fold-back, no flat top
    assert int(mix.max()) < 32767
    assert int(mix.min()) > -32767


def test_it_gives_silence_without_tracks() -> None:
    tick = Mixer().tick()
    assert tick.tracks == {}
    assert not tick.mix.any()
    assert len(tick.mix) == 1600


def test_it_drops_the_oldest_audio_beyond_the_backlog() -> None:
    mixer = Mixer(max_backlog_seconds=0.2)  # 3200 samples
    mixer.push("a", np.arange(2000, dtype=np.int16))
    mixer.push("a", np.arange(2000, 4000, dtype=np.int16))
    assert mixer.pending("a") == 3200
    stats = mixer.stats("a")
    assert stats is not None
    assert stats.dropped == 800
    tick = mixer.tick()
    np.testing.assert_array_equal(tick.tracks["a"], np.arange(800, 2400, dtype=np.int16))


def test_it_lets_tracks_join_mid_stream() -> None:
    mixer = Mixer()
    mixer.push("a", _constant(1000, 3200))
    first = mixer.tick()
    mixer.push("b", _constant(1000, 1600))
    second = mixer.tick()
    assert set(first.tracks) == {"a"}
    assert set(second.tracks) == {"a", "b"}
    assert int(second.mix[0]) == round(2000 / math.sqrt(2))


def test_it_lets_a_leaving_track_finish_what_it_delivered() -> None:
    mixer = Mixer()
    mixer.push("a", _constant(1000, 2000))
    mixer.push("b", _constant(1000, 4800))
    mixer.remove_track("a")
    assert set(mixer.tick().tracks) == {"a", "b"}
    last = mixer.tick()
    assert set(last.tracks) == {"a", "b"}
    np.testing.assert_array_equal(last.tracks["a"][:400], _constant(1000, 400))
    assert mixer.track_ids == ["b"]
    assert set(mixer.tick().tracks) == {"b"}


def test_it_removes_an_idle_track_at_once_and_ignores_unknown_ones() -> None:
    mixer = Mixer()
    mixer.add_track("a")
    mixer.remove_track("a")
    mixer.remove_track("never-joined")
    assert mixer.track_ids == []


def test_it_counts_ticks() -> None:
    mixer = Mixer()
    assert [mixer.tick().index for _ in range(3)] == [0, 1, 2]
