"""What the sandbox's microphones say: known sentences per demo participant, or a test tone.

The sentences are in assets/speech.json and were synthesized once into 16 kHz mono WAVs by
scripts/make-sandbox-speech. Egress always sends S16LE, 48 kHz, 2 channels, whatever the track's
codec, upmixing mono (E:pkg/pipeline/builder/audio.go `newAudioCapsFilter`), so each WAV is
upsampled 3x (Catmull-Rom interpolation) and duplicated to both channels, once, on first use.
"""

from __future__ import annotations

import functools
import json
import math
import sys
import wave
from array import array
from pathlib import Path
from typing import Any, Literal

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
    samples = array("h")
    for n in range(SAMPLE_RATE):
        value = round(amplitude * math.sin(2 * math.pi * TONE_HZ * n / SAMPLE_RATE))
        samples.extend((value,) * CHANNELS)
    return _little_endian(samples)


@functools.cache
def speech(identity: str) -> bytes:
    """`identity`'s sentences as 48 kHz stereo S16LE, followed by a pause, ready to loop."""
    with wave.open(str(ASSETS / f"{identity}.wav"), "rb") as wav:
        if (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) != (SOURCE_RATE, 1, 2):
            raise ValueError(f"{identity}.wav is not 16 kHz mono 16-bit")
        mono = array("h", wav.readframes(wav.getnframes()))
    if sys.byteorder == "big":
        mono.byteswap()
    mono.extend(bytes(2 * int(SOURCE_RATE * LOOP_PAUSE_SECONDS)))
    return _little_endian(_stereo(_upsample_3x(mono)))


def _upsample_3x(samples: array[int]) -> array[int]:
    # Catmull-Rom weights for the points a third and two thirds of the way from p1 to p2.
    weights = [_catmull_rom(t) for t in (1 / 3, 2 / 3)]
    n = len(samples)
    out = array("h", bytes(2 * 3 * n))
    for i in range(n):
        p0, p1, p2, p3 = samples[i - 1], samples[i], samples[(i + 1) % n], samples[(i + 2) % n]
        out[3 * i] = p1
        for k, (w0, w1, w2, w3) in enumerate(weights, start=1):
            value = round(w0 * p0 + w1 * p1 + w2 * p2 + w3 * p3)
            out[3 * i + k] = -32768 if value < -32768 else 32767 if value > 32767 else value
    return out


def _catmull_rom(t: float) -> tuple[float, float, float, float]:
    t2, t3 = t * t, t * t * t
    return (
        0.5 * (-t3 + 2 * t2 - t),
        0.5 * (3 * t3 - 5 * t2 + 2),
        0.5 * (-3 * t3 + 4 * t2 + t),
        0.5 * (t3 - t2),
    )


def _stereo(mono: array[int]) -> array[int]:
    out = array("h", bytes(2 * CHANNELS * len(mono)))
    for channel in range(CHANNELS):
        out[channel::CHANNELS] = mono
    return out


def _little_endian(samples: array[int]) -> bytes:
    if sys.byteorder == "big":
        samples = array("h", samples)
        samples.byteswap()
    return samples.tobytes()
