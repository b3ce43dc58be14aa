"""Egress's binary messages reassembled into frames, its text messages decoded."""

from __future__ import annotations

import numpy as np
import pytest

from egress_app.audio.pcm import FRAME_BYTES, Ignored, Muted, PcmReassembler, decode_text


def _interleaved(frames: int) -> np.ndarray:
    left = np.arange(frames, dtype=np.int16) * 3 - 1000
    return np.stack([left, -left], axis=1)


def test_it_gives_whole_frames_of_a_10_ms_message() -> None:
    frames = _interleaved(480)
    out = PcmReassembler().feed(frames.astype("<i2").tobytes())
    assert out.dtype == np.int16
    assert out.shape == (480, 2)
    np.testing.assert_array_equal(out, frames)


def test_it_keeps_the_remainder_of_frames_split_across_messages() -> None:
    frames = _interleaved(1000)
    data = frames.astype("<i2").tobytes()
    rng = np.random.default_rng(14)
    reassembler = PcmReassembler()
    parts, start = [], 0
    while start < len(data):
        size = int(rng.integers(1, 700))  # odd sizes end inside a sample
        parts.append(reassembler.feed(data[start : start + size]))
        start += size
    np.testing.assert_array_equal(np.concatenate(parts), frames)
    assert reassembler.pending_bytes == 0
    assert reassembler.bytes_received == len(data)
    assert reassembler.frames_out == 1000


def test_it_holds_back_a_partial_frame() -> None:
    reassembler = PcmReassembler()
    assert reassembler.feed(b"\x01\x00\x02").shape == (0, 2)
    assert reassembler.pending_bytes == 3
    out = reassembler.feed(b"\x00\x03\x00\x04\x00\x05")
    np.testing.assert_array_equal(out, [[1, 2], [3, 4]])
    assert reassembler.pending_bytes == 1  # 9 bytes: two frames of FRAME_BYTES and one more
    assert FRAME_BYTES == 4


def test_it_reads_samples_as_little_endian_signed() -> None:
    out = PcmReassembler().feed(b"\xff\x7f\x00\x80")
    np.testing.assert_array_equal(out, [[32767, -32768]])


def test_it_takes_an_empty_message() -> None:
    assert PcmReassembler().feed(b"").shape == (0, 2)


@pytest.mark.parametrize(
    ("text", "muted"),
    [('{"muted":true}', True), ('{"muted": false}', False), (b'{"muted":true}', True)],
)
def test_it_decodes_egress_muted_messages(text: str | bytes, muted: bool) -> None:
    assert decode_text(text) == Muted(muted)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "pong",
        "not json {",
        "[true]",
        "null",
        '{"muted": 1}',
        '{"muted": "true"}',
        '{"muted": null}',
        '{"muted": true, "track": "TR_1"}',
        "{}",
        '{"muted": NaN}',
        "[" * 100_000,
        b"\xff\xfe{",
        '{"muted": true}' + " " * 1000,
        "1e999999",
    ],
)
def test_it_ignores_any_other_text_without_raising(text: str | bytes) -> None:
    result = decode_text(text)
    assert isinstance(result, Ignored)
    assert result.reason
