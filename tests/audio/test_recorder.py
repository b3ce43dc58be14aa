"""A session's mix written to a WAV file tick by tick: valid, bounded, and nothing left behind."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from egress_app.audio.mixer import Mixer, Tick
from egress_app.audio.recorder import WavRecorder

ASSETS = Path(__file__).resolve().parents[2] / "egress_app" / "sandbox" / "assets"


def speech_ticks(count: int) -> list[Tick]:
    """`count` ticks of the sandbox's two podcast voices mixed by the real mixer."""
    mixer = Mixer()
    for name in ("host", "guest"):
        with wave.open(str(ASSETS / f"{name}.wav"), "rb") as asset:
            assert (asset.getframerate(), asset.getnchannels()) == (16_000, 1)
            mixer.push(name, np.frombuffer(asset.readframes(asset.getnframes()), "<i2"))
    return [mixer.tick() for _ in range(count)]


def read_back(path: Path) -> tuple[wave._wave_params, np.ndarray]:
    with wave.open(str(path), "rb") as wav:
        return wav.getparams(), np.frombuffer(wav.readframes(wav.getnframes()), "<i2")


def test_it_writes_the_mix_as_16_khz_mono_wav(tmp_path: Path) -> None:
    ticks = speech_ticks(30)
    recorder = WavRecorder(max_seconds=60, directory=str(tmp_path))
    for tick in ticks:
        recorder.write(tick.mix)

    recorded = recorder.finish()

    assert recorded.path is not None
    params, samples = read_back(recorded.path)
    assert (params.framerate, params.nchannels, params.sampwidth) == (16_000, 1, 2)
    assert params.nframes == 30 * 1600
    assert recorded.seconds == pytest.approx(3.0)
    assert recorded.bytes == recorded.path.stat().st_size == 44 + 30 * 1600 * 2
    np.testing.assert_array_equal(samples, np.concatenate([tick.mix for tick in ticks]))
    assert np.abs(samples).max() > 1000  # speech, not silence
    assert not recorded.limited


def test_it_stops_at_the_length_limit_and_says_so(tmp_path: Path) -> None:
    recorder = WavRecorder(max_seconds=0.25, directory=str(tmp_path))
    for tick in speech_ticks(5):
        recorder.write(tick.mix)

    recorded = recorder.finish()

    assert recorded.limited
    assert recorded.frames == 4000
    assert recorded.path is not None
    assert read_back(recorded.path)[0].nframes == 4000


def test_it_fails_in_plain_words_when_the_disk_refuses(tmp_path: Path) -> None:
    recorder = WavRecorder(max_seconds=60, directory=str(tmp_path))
    assert recorder._wav is not None
    full = Path("/dev/full")  # every write answers ENOSPC, as a full disk does
    if not full.exists():
        pytest.skip("no /dev/full here")
    recorder._wav._file = full.open("wb", buffering=0)  # the disk filling up mid-recording

    recorder.write(speech_ticks(1)[0].mix)
    recorded = recorder.finish()

    assert recorded.path is None
    assert recorded.failure == "No space left on device (OSError)"
    assert list(tmp_path.iterdir()) == []


def test_it_leaves_no_file_behind(tmp_path: Path) -> None:
    recorder = WavRecorder(max_seconds=60, directory=str(tmp_path))
    recorder.write(speech_ticks(1)[0].mix)
    recorder.finish()

    recorder.discard()

    assert list(tmp_path.iterdir()) == []


def test_it_discards_a_recording_never_finished(tmp_path: Path) -> None:
    recorder = WavRecorder(max_seconds=60, directory=str(tmp_path))

    recorder.discard()

    assert list(tmp_path.iterdir()) == []
