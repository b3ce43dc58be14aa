"""What the sandbox's microphones say: known sentences per demo participant, or a test tone.

The sentences are in assets/speech.json and were synthesized once into 16 kHz mono WAVs by
scripts/make-sandbox-speech. Egress always sends S16LE, 48 kHz, 2 channels, whatever the track's
codec, upmixing mono (E:pkg/pipeline/builder/audio.go `newAudioCapsFilter`), so each WAV is
upsampled to 48 kHz (soxr) and duplicated to both channels, once, on first use.
"""

from __future__ import annotations

import functools
import json
import wave
from pathlib import Path
from typing import Any, Literal

import numpy as np
import soxr

SAMPLE_RATE = 48_000
CHANNELS = 2
SOURCE_RATE = 16_000
TONE_HZ = 440
TONE_DBFS = -12.0
LOOP_PAUSE_SECONDS = 1.5  # silence after the last sentence, before they start again

AudioSource = Literal["speech", "tone"]
ASSETS = Path(__file__).resolve().parent / "assets"


@functools.cache
def manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ASSETS / "speech.json").read_text())
    return data


def sentences(identity: str) -> list[str]:
    """The exact sentences `identity`'s microphone says, in order ([] if it has no speech)."""
    spec = manifest()["participants"].get(identity)
    return list(spec["sentences"]) if spec else []


def has_speech(identity: str) -> bool:
    return identity in manifest()["participants"]


@functools.cache
def tone() -> bytes:
    """One second of a 440 Hz tone at -12 dBFS: whole cycles, so it loops seamlessly."""
    amplitude = 32767 * 10 ** (TONE_DBFS / 20)
    wave_ = np.round(amplitude * np.sin(2 * np.pi * TONE_HZ * np.arange(SAMPLE_RATE) / SAMPLE_RATE))
    return _stereo_s16le(wave_.astype(np.int16))


@functools.cache
def speech(identity: str) -> bytes:
    """`identity`'s sentences as 48 kHz stereo S16LE, followed by a pause, ready to loop."""
    with wave.open(str(ASSETS / f"{identity}.wav"), "rb") as wav:
        if (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) != (SOURCE_RATE, 1, 2):
            raise ValueError(f"{identity}.wav is not 16 kHz mono 16-bit")
        mono = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    pause = np.zeros(int(SOURCE_RATE * LOOP_PAUSE_SECONDS), dtype=np.int16)
    # soxr's high-quality resampler (its own anti-imaging filter); int16 in, int16 out, clipped.
    upsampled = soxr.resample(np.concatenate([mono, pause]), SOURCE_RATE, SAMPLE_RATE, "HQ")
    return _stereo_s16le(upsampled)


def _stereo_s16le(mono: np.ndarray[Any, np.dtype[np.int16]]) -> bytes:
    """The same samples on both channels, interleaved, little-endian."""
    return np.repeat(mono.astype("<i2"), CHANNELS).tobytes()
