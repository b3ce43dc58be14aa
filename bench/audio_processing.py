"""How many real-time Track Egress audio streams one core processes (egress_app/audio/).

    .venv/bin/python bench/audio_processing.py [--streams N] [--seconds S] [--session-size K]

Each of --streams streams is --seconds of a sandbox participant's speech as egress sends it
(48 kHz stereo S16LE, in 10 ms messages of 1920 bytes), built before the clock starts. The
streams are processed message by message, all streams in turn (as a server interleaves its
sockets), in one thread, and each stage is timed in CPU seconds of this process
(`time.process_time`, so other work on the machine does not count):

    anchor     numpy.frombuffer of each message, nothing else: the bare minimum
    reassemble PcmReassembler: whole (n, 2) int16 frames
    + resample and Downsampler to 16 kHz mono (soxr, HQ)
    + levels   and LevelMeter (100 ms windows at 48 kHz) with VoiceActivity
    + mix      and a Mixer per session of --session-size tracks, ticked every 100 ms,
               with a LevelMeter on its mix

Real-time streams per core = seconds of audio processed / CPU seconds spent. Each stage runs
--repeat times and the best run counts. Target (issue 14): at least 100 for receive, resample
and levels; the websocket receive itself is not in here (bench/audio.py, with the endpoint).
"""

from __future__ import annotations

import os

# One thread per process, as the figures are per core (numpy's BLAS would otherwise spread).
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from egress_app.audio.levels import LevelMeter, VoiceActivity  # noqa: E402
from egress_app.audio.mixer import Mixer  # noqa: E402
from egress_app.audio.pcm import PcmReassembler  # noqa: E402
from egress_app.audio.resample import Downsampler  # noqa: E402
from egress_app.sandbox import speech  # noqa: E402

TARGET = 100
MESSAGE_BYTES = 1920  # 10 ms of 48 kHz stereo S16LE, egress's usual buffer
MESSAGES_PER_TICK = 10  # 100 ms
SPEAKERS = ("alice", "bob", "carol", "host", "guest")

Stage = Callable[[list[list[bytes]]], None]


def streams(count: int, seconds: float) -> list[list[bytes]]:
    """`count` streams of `seconds` each, as lists of 10 ms messages, speakers in turn."""
    size = round(seconds * 100) * MESSAGE_BYTES
    out = []
    for index in range(count):
        loop = speech.speech(SPEAKERS[index % len(SPEAKERS)])
        offset = (index * 7919 * 4) % len(loop)  # same speaker, other moment
        data = (loop * (size // len(loop) + 2))[offset : offset + size]
        out.append([data[start : start + MESSAGE_BYTES] for start in range(0, size, MESSAGE_BYTES)])
    return out


def anchor(messages: list[list[bytes]]) -> None:
    for round_ in zip(*messages, strict=True):
        for message in round_:
            np.frombuffer(message, dtype="<i2")


def reassemble(messages: list[list[bytes]]) -> None:
    taps = [PcmReassembler() for _ in messages]
    for round_ in zip(*messages, strict=True):
        for tap, message in zip(taps, round_, strict=True):
            tap.feed(message)


def resample(messages: list[list[bytes]]) -> None:
    taps = [(PcmReassembler(), Downsampler()) for _ in messages]
    for round_ in zip(*messages, strict=True):
        for (reassembler, downsampler), message in zip(taps, round_, strict=True):
            downsampler.process(reassembler.feed(message))


def levels(messages: list[list[bytes]]) -> None:
    taps = [
        (PcmReassembler(), Downsampler(), LevelMeter(48_000), VoiceActivity()) for _ in messages
    ]
    for round_ in zip(*messages, strict=True):
        for (reassembler, downsampler, meter, activity), message in zip(taps, round_, strict=True):
            frames = reassembler.feed(message)
            downsampler.process(frames)
            for level in meter.feed(frames):
                activity.update(level)


def mixing(session_size: int) -> Stage:
    def stage(messages: list[list[bytes]]) -> None:
        taps = [
            (str(index), PcmReassembler(), Downsampler(), LevelMeter(48_000), VoiceActivity())
            for index in range(len(messages))
        ]
        sessions = [(Mixer(), LevelMeter(16_000)) for _ in range(0, len(messages), session_size)]
        for number, round_ in enumerate(zip(*messages, strict=True), start=1):
            for index, message in enumerate(round_):
                track_id, reassembler, downsampler, meter, activity = taps[index]
                frames = reassembler.feed(message)
                sessions[index // session_size][0].push(track_id, downsampler.process(frames))
                for level in meter.feed(frames):
                    activity.update(level)
            if number % MESSAGES_PER_TICK == 0:
                for mixer, mix_meter in sessions:
                    mix_meter.feed(mixer.tick().mix)

    return stage


def best_cpu(stage: Stage, messages: list[list[bytes]], repeat: int) -> float:
    spent = []
    for _ in range(repeat):
        began = time.process_time()
        stage(messages)
        spent.append(time.process_time() - began)
    return min(spent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0, help="audio per stream")
    parser.add_argument("--session-size", type=int, default=4, help="tracks per mixer")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    messages = streams(args.streams, args.seconds)
    audio_seconds = args.streams * len(messages[0]) / 100
    count = args.streams * len(messages[0])
    print(
        f"{args.streams} streams x {args.seconds:g} s of 48 kHz stereo speech, "
        f"{count} messages of {MESSAGE_BYTES} bytes, best of {args.repeat}, CPU time"
    )
    floor = best_cpu(anchor, messages, args.repeat)
    print(
        f"  {'anchor: frombuffer only':<38} {floor / count * 1e6:7.2f} us/message  "
        f"{audio_seconds / floor:9.0f} real-time streams per core"
    )
    stages: list[tuple[str, Stage]] = [
        ("reassemble", reassemble),
        ("reassemble + resample", resample),
        ("reassemble + resample + levels", levels),
        (f"... + levels + mix ({args.session_size}/session)", mixing(args.session_size)),
    ]
    for name, stage in stages:
        spent = best_cpu(stage, messages, args.repeat)
        per_core = audio_seconds / spent
        verdict = "met" if per_core >= TARGET else "NOT met"
        print(
            f"  {name:<38} {spent / count * 1e6:7.2f} us/message  {per_core:9.0f} real-time "
            f"streams per core  ({spent / floor:.0f}x the anchor; target >= {TARGET}: {verdict})"
        )


if __name__ == "__main__":
    main()
