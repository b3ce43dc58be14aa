"""What a Track Egress sends to a websocket, decoded.

Binary messages are raw PCM: S16LE, 48 kHz, 2 channels interleaved, always (livekit/egress
pkg/pipeline/builder/audio.go `newAudioCapsFilter`), one message per GStreamer buffer, typically
10 ms but of no fixed size. A message may end inside a frame (or inside a sample), so the
reassembler keeps the remainder for the next one. Text messages are only `{"muted": true|false}`
(pkg/pipeline/source/sdk/appwriter.go); anything else decodes to `Ignored`, never an exception,
because a receiver must survive whatever arrives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

SAMPLE_RATE = 48_000
CHANNELS = 2
SAMPLE_BYTES = 2
FRAME_BYTES = CHANNELS * SAMPLE_BYTES
MAX_TEXT_CHARS = 256  # `{"muted":false}` is 15; anything much longer is not egress talking

Frames = np.ndarray[Any, np.dtype[np.int16]]


class PcmReassembler:
    """Turns binary messages of any size into whole frames, an int16 array of shape (n, 2)."""

    def __init__(self) -> None:
        self._remainder = b""
        self.bytes_received = 0
        self.frames_out = 0

    @property
    def pending_bytes(self) -> int:
        """Bytes held back because they do not yet make a whole frame (0 to 3)."""
        return len(self._remainder)

    def feed(self, message: bytes) -> Frames:
        self.bytes_received += len(message)
        data = self._remainder + message if self._remainder else message
        whole = len(data) - len(data) % FRAME_BYTES
        self._remainder = bytes(data[whole:])
        frames = np.frombuffer(data, dtype="<i2", count=whole // SAMPLE_BYTES).reshape(-1, CHANNELS)
        self.frames_out += len(frames)
        return frames


@dataclass(frozen=True)
class Muted:
    """egress's `{"muted": ...}`: the track is muted, or no packet came for 2 s (or unmuted)."""

    muted: bool


@dataclass(frozen=True)
class Ignored:
    """A text message that is not `{"muted": bool}`; `reason` is safe to log (no content)."""

    reason: str


TextMessage = Muted | Ignored


def decode_text(message: str | bytes) -> TextMessage:
    """egress's text frame, or why it is ignored. Strict: exactly one key, a real boolean."""
    if len(message) > MAX_TEXT_CHARS:
        return Ignored("too long")
    try:
        data = json.loads(message)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return Ignored("not JSON")
    if not isinstance(data, dict):
        return Ignored("not a JSON object")
    if set(data) != {"muted"}:
        return Ignored("not a muted message")
    if not isinstance(data["muted"], bool):
        return Ignored("muted is not a boolean")
    return Muted(data["muted"])
