"""Small, real, playable media for the objects the sandbox uploads: a test pattern and a tone.

Made with PyAV (its wheels bundle FFmpeg with x264, AAC, Opus, MP3, VP8 and MJPEG), each kind
once per process (CPU is scarce): a 320x180 picture at 15 fps and a 440 Hz tone at 48 kHz. The
containers are the ones egress writes (E:pkg/types/types.go `FileExtensionForOutputType`):
MP4 (H.264 + AAC, moov first so a `<video>` element can start before the end arrives), OGG
(Opus), MP3, WebM (VP8, a VP8 track's Track Egress), MPEG-TS segments (H.264 + AAC) for HLS, and
JPEG images.

PyAV is imported on first use, so the sandbox starts without it when nothing is uploaded.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

WIDTH, HEIGHT, FPS = 320, 180, 15
RATE, TONE_HZ = 48_000, 440.0
FILE_SECONDS = 2.0
SEGMENT_SECONDS = 1.0
AUDIO_FRAME = 960  # 20 ms; the encoders regroup samples into their own frame sizes

# container: (FFmpeg muxer, video codec, audio codec, muxer options)
CONTAINERS: dict[str, tuple[str, str, str, dict[str, str]]] = {
    "mp4": ("mp4", "libx264", "aac", {"movflags": "+faststart"}),
    "ogg": ("ogg", "", "libopus", {}),
    "mp3": ("mp3", "", "libmp3lame", {}),
    "webm": ("webm", "libvpx", "libopus", {}),
    "ts": ("mpegts", "libx264", "aac", {}),
}
# Encoder settings for speed (CPU is scarce); libvpx's default takes ~0.7 s for 2 s of video.
SPEED = {"libx264": {"preset": "veryfast"}, "libvpx": {"deadline": "realtime", "cpu-used": "8"}}
EXTENSION_CONTAINERS = {".mp4": "mp4", ".ogg": "ogg", ".mp3": "mp3", ".webm": "webm"}


class MediaUnavailable(RuntimeError):
    """PyAV is not installed (it comes with the `demo` and `dev` extras)."""


@dataclass(frozen=True)
class Kind:
    container: str  # a key of CONTAINERS
    video: bool
    audio: bool


def file_kind(extension: str, *, video: bool, audio: bool, track: bool) -> Kind:
    """What a file output holds: a track's file carries that one track, as egress writes it."""
    container = EXTENSION_CONTAINERS.get(extension, "mp4")
    if container in ("ogg", "mp3"):
        return Kind(container, video=False, audio=True)
    if container == "webm" or (track and video):
        return Kind(container, video=True, audio=False)
    return Kind(container, video=video, audio=audio or not video)


def _av() -> Any:
    try:
        import av
    except ImportError as exc:  # pragma: no cover - the demo and dev extras install it
        raise MediaUnavailable(
            "PyAV is not installed: pip install 'egress-dashboard[demo]'"
        ) from exc
    return av


def _picture(index: int) -> np.ndarray:
    """Colour bars with a white bar sweeping across, so playback visibly moves."""
    bars = np.array(
        [[192, 192, 192], [192, 192, 0], [0, 192, 192], [0, 192, 0], [192, 0, 192], [192, 0, 0]],
        dtype=np.uint8,
    )
    columns = bars[np.arange(WIDTH) * len(bars) // WIDTH]
    picture = np.repeat(columns[np.newaxis, :, :], HEIGHT, axis=0)
    x = index * 8 % WIDTH
    picture[:, x : x + 8] = 255
    return picture


def _tone(first: int, count: int) -> np.ndarray:
    t = (np.arange(first, first + count) / RATE).astype(np.float64)
    return (0.25 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32)[np.newaxis, :]


def _encode(kind: Kind, seconds: float, offset: float = 0.0) -> bytes:
    """`seconds` of `kind`, its timestamps starting at `offset` (for consecutive segments)."""
    av = _av()
    muxer, _, _, options = CONTAINERS[kind.container]
    # A file, not memory: faststart rewrites the file to move the moov atom to the front.
    with tempfile.TemporaryDirectory(prefix="sandbox-media-") as folder:
        path = Path(folder) / f"clip.{kind.container}"
        with av.open(str(path), "w", format=muxer, options=options) as container:
            _write(av, container, kind, seconds, offset)
        return path.read_bytes()


def _write(av: Any, container: Any, kind: Kind, seconds: float, offset: float) -> None:
    _, video_codec, audio_codec, _ = CONTAINERS[kind.container]
    # Every stream before the first packet: the muxer writes its header then.
    video = container.add_stream(video_codec, rate=FPS) if kind.video else None
    audio = container.add_stream(audio_codec, rate=RATE, layout="mono") if kind.audio else None
    # MPEG-TS segments keep counting from the recording's start; files start at zero.
    absolute = kind.container == "ts"
    if video is not None:
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.gop_size = FPS  # a keyframe every second, so each segment starts with one
        video.options = SPEED.get(video_codec, {})
        first = round(offset * FPS)
        for index in range(first, first + round(seconds * FPS)):
            picture = av.VideoFrame.from_ndarray(_picture(index), format="rgb24")
            picture.pts = index if absolute else index - first
            container.mux(video.encode(picture))
        container.mux(video.encode(None))
    if audio is not None:
        first = round(offset * RATE)
        for start in range(first, first + round(seconds * RATE), AUDIO_FRAME):
            samples = av.AudioFrame.from_ndarray(
                _tone(start, AUDIO_FRAME), format="flt", layout="mono"
            )
            samples.sample_rate = RATE
            samples.pts = start if absolute else start - first
            container.mux(audio.encode(samples))
        container.mux(audio.encode(None))


@cache
def file_bytes(kind: Kind) -> bytes:
    return _encode(kind, FILE_SECONDS)


@cache
def segment_bytes(video: bool, audio: bool, index: int) -> bytes:
    """The `index`th MPEG-TS segment of an HLS recording, its timestamps following the last's."""
    kind = Kind("ts", video=video, audio=audio or not video)
    return _encode(kind, SEGMENT_SECONDS, offset=index * SEGMENT_SECONDS)


@cache
def jpeg_bytes(index: int) -> bytes:
    """One captured image, as egress's image output writes it (a JPEG per capture)."""
    av = _av()
    frame = av.VideoFrame.from_ndarray(_picture(index * FPS), format="rgb24")
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width, codec.height, codec.pix_fmt = WIDTH, HEIGHT, "yuvj420p"
    codec.time_base = Fraction(1, FPS)
    packets = [*codec.encode(frame.reformat(format="yuvj420p")), *codec.encode(None)]
    return b"".join(bytes(packet) for packet in packets)
