"""48 kHz stereo to 16 kHz mono for speech engines, one stream per track.

The two channels are averaged (egress upmixes a mono microphone, so left = right and the average
is the microphone), then soxr's streaming resampler, its "HQ" low-pass filter keeping out what
lies above 8 kHz, decimates by 3. The stream keeps the filter's state between chunks, so where
egress's messages end adds nothing to the output: it equals resampling the whole recording at
once. The filter delays the output by a few milliseconds; `flush` gives out the tail at the end.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import soxr

from egress_app.audio.pcm import CHANNELS, SAMPLE_RATE

OUTPUT_RATE = 16_000
QUALITY = "HQ"

Samples = np.ndarray[Any, np.dtype[np.int16]]


class Downsampler:
    """48 kHz stereo int16 frames (n, 2) in, 16 kHz mono int16 out, in step across chunks."""

    def __init__(self, output_rate: int = OUTPUT_RATE, quality: str = QUALITY) -> None:
        self.output_rate = output_rate
        self._stream = soxr.ResampleStream(
            SAMPLE_RATE, output_rate, 1, dtype="int16", quality=quality
        )

    def process(self, frames: np.ndarray[Any, np.dtype[np.int16]]) -> Samples:
        return self._stream.resample_chunk(downmix(frames))

    def flush(self) -> Samples:
        """The filter's tail; the stream is finished afterwards."""
        return self._stream.resample_chunk(np.zeros(0, dtype=np.int16), last=True)


def downmix(frames: np.ndarray[Any, np.dtype[np.int16]]) -> Samples:
    """Stereo (n, 2) to mono (n,): the average of the two channels, rounded down, never clipping."""
    if frames.ndim != 2 or frames.shape[1] != CHANNELS:
        raise ValueError(f"expected frames of shape (n, {CHANNELS}), got {frames.shape}")
    total = frames[:, 0].astype(np.int32)
    total += frames[:, 1]
    total >>= 1
    return total.astype(np.int16)
