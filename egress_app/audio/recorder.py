"""A session's mix written to a WAV file as it comes (16 kHz mono 16-bit PCM), bounded.

WAV, not Opus: the stdlib writes it (no encoder to install), every tool and speech engine reads
it, and the mix is small (32 kB a second, 115 MB an hour). The file is written tick by tick to a
temporary file, so a long session costs disk, not memory; the header's lengths are set once, at
`finish`.

Bounded: past `max_seconds` of audio the recorder stops writing and says so (`limited`); the
file keeps the first `max_seconds`. A write the disk refuses (full, gone) stops the recording
too, with the system's words in `failure`: the file is then not worth uploading.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

from egress_app.audio.mixer import SAMPLE_RATE, Samples

SAMPLE_WIDTH = 2  # bytes: 16-bit PCM
CHANNELS = 1
HEADER_BYTES = 44  # a plain PCM WAV header, as the stdlib writes it
# WAV's sizes are 32-bit: a file stops at 4 GiB, about 37 hours of this mix.
WAV_MAX_SECONDS = (2**32 - 1 - HEADER_BYTES) // (SAMPLE_RATE * SAMPLE_WIDTH * CHANNELS)


@dataclass(frozen=True)
class Recorded:
    """What `finish` leaves: the file (None once the recording failed), its length and why it
    may be short."""

    path: Path | None
    frames: int
    bytes: int
    limited: bool  # stopped at max_seconds
    failure: str  # the disk's words when a write failed, else ""

    @property
    def seconds(self) -> float:
        return self.frames / SAMPLE_RATE


class WavRecorder:
    """Writes samples to a temporary WAV file until `max_seconds`; `finish` closes it."""

    def __init__(self, max_seconds: float, directory: str | None = None) -> None:
        self.max_frames = max(0, round(max_seconds * SAMPLE_RATE))
        handle, name = tempfile.mkstemp(prefix="egress-audio-", suffix=".wav", dir=directory)
        os.close(handle)
        self.path = Path(name)
        self.frames = 0
        self.limited = False
        self.failure = ""
        # Open until finish(): ticks are appended as they come.
        self._wav: wave.Wave_write | None = wave.open(name, "wb")  # noqa: SIM115
        self._wav.setnchannels(CHANNELS)
        self._wav.setsampwidth(SAMPLE_WIDTH)
        self._wav.setframerate(SAMPLE_RATE)

    def write(self, samples: Samples) -> None:
        """Append samples (16 kHz mono int16); beyond the limit or after a failure, nothing."""
        if self._wav is None or self.limited:
            return
        room = self.max_frames - self.frames
        if room <= 0:
            self.limited = True
            return
        part = samples[:room]
        try:
            # writeframesraw: the header's lengths are set once, at close, not on every tick.
            self._wav.writeframesraw(part.astype("<i2", copy=False).tobytes())
        except OSError as error:
            self._fail(error)
            return
        self.frames += len(part)
        self.limited = len(part) < len(samples)

    def finish(self) -> Recorded:
        """Close the file (its header now right); a file that could not be finished is
        removed and `failure` says why."""
        if self._wav is not None:
            try:
                self._wav.close()
            except OSError as error:
                self._fail(error)
            self._wav = None
        if self.failure:
            return Recorded(None, self.frames, 0, self.limited, self.failure)
        size = self.path.stat().st_size
        return Recorded(self.path, self.frames, size, self.limited, "")

    def discard(self) -> None:
        """Remove the file, finished or not."""
        if self._wav is not None:
            with contextlib.suppress(OSError):
                self._wav.close()
            self._wav = None
        self.path.unlink(missing_ok=True)

    def _fail(self, error: OSError) -> None:
        self.failure = f"{error.strerror or error} ({type(error).__name__})"
        wav, self._wav = self._wav, None
        if wav is not None:
            with contextlib.suppress(OSError):
                wav.close()
        self.path.unlink(missing_ok=True)
