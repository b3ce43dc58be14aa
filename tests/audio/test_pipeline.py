"""Two sandbox participants' speech, as egress sends it, through reassembly, resampling, levels
and the mixer."""

from __future__ import annotations

import math

import numpy as np

from egress_app.audio.levels import LevelMeter, VoiceActivity, VoiceState
from egress_app.audio.mixer import Mixer, Tick
from egress_app.audio.pcm import FRAME_BYTES, PcmReassembler
from egress_app.audio.resample import Downsampler
from egress_app.sandbox import speech

SPEAKERS = ("alice", "bob")


def _messages(data: bytes, rng: np.random.Generator) -> list[bytes]:
    """egress's messages: mostly 10 ms (1920 bytes), some of odd sizes ending mid-frame."""
    messages, start = [], 0
    while start < len(data):
        size = 1920 if rng.random() < 0.7 else int(rng.integers(1, 5000))
        messages.append(data[start : start + size])
        start += size
    return messages


class _Tap:
    """One participant's track egress arriving: reassembled, metered, downsampled, pushed."""

    def __init__(self, identity: str, rng: np.random.Generator) -> None:
        self.identity = identity
        self.audio = speech.speech(identity)
        self.messages = _messages(self.audio, rng)
        self.reassembler, self.downsampler = PcmReassembler(), Downsampler()
        self.meter, self.activity = LevelMeter(48_000), VoiceActivity()
        self.states: set[VoiceState] = set()

    def receive_until(self, byte_count: int, mixer: Mixer) -> None:
        while self.messages and self.reassembler.bytes_received < byte_count:
            frames = self.reassembler.feed(self.messages.pop(0))
            self.states.update(self.activity.update(level) for level in self.meter.feed(frames))
            mixer.push(self.identity, self.downsampler.process(frames))
            if not self.messages:
                mixer.push(self.identity, self.downsampler.flush())


def test_it_mixes_two_participants_speech() -> None:
    rng = np.random.default_rng(14)
    mixer = Mixer()
    taps = [_Tap(identity, rng) for identity in SPEAKERS]
    tick_bytes = 4800 * FRAME_BYTES  # 100 ms at 48 kHz stereo
    ticks: list[Tick] = []
    while any(tap.messages for tap in taps) or any(mixer.pending(i) for i in SPEAKERS):
        for tap in taps:  # the clock runs 100 ms behind what has arrived, as a worker's would
            tap.receive_until((len(ticks) + 2) * tick_bytes, mixer)
        ticks.append(mixer.tick())
    mix = np.concatenate([tick.mix for tick in ticks])

    longest = max(len(tap.audio) for tap in taps) // FRAME_BYTES // 3  # samples at 16 kHz
    assert len(ticks) == math.ceil(longest / 1600)
    assert len(mix) == len(ticks) * 1600
    assert mixer.track_ids == list(SPEAKERS)
    for tap in taps:
        assert tap.reassembler.frames_out == len(tap.audio) // FRAME_BYTES
        assert tap.states == {VoiceState.SPEAKING, VoiceState.SILENT}  # words and pauses
        stats = mixer.stats(tap.identity)
        assert stats is not None
        assert stats.mixed == stats.received == len(tap.audio) // FRAME_BYTES // 3
        assert stats.dropped == 0
        own = np.concatenate([tick.tracks[tap.identity] for tick in ticks])
        # Aligned and complete: the track as one piece, within soxr's int16 rounding.
        np.testing.assert_allclose(own[: stats.mixed].astype(np.int32), _alone(tap.audio), atol=4)
    mix_levels = LevelMeter(16_000).feed(mix)
    assert max(level.rms_dbfs for level in mix_levels) > -30  # speech, not silence
    assert int(np.abs(mix.astype(np.int32)).max()) < 32767  # not clipped
    assert sum(tick.soft_clipped for tick in ticks) == 0


def _alone(audio: bytes) -> np.ndarray:
    downsampler = Downsampler()
    frames = PcmReassembler().feed(audio)
    return np.concatenate([downsampler.process(frames), downsampler.flush()])
