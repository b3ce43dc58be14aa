"""The built-in engine (PocketSphinx, egress_app/transcribe/builtin.py) in real time: CPU per
audio second and how late final results come.

    .venv/bin/python bench/transcription.py [--streams N] [--seconds S]

Each of --streams streams is a session of two participants (the sandbox's host and guest, each
on its own channel, their sentences looped with a second's pause), fed as the transcription sink
feeds it: every 100 ms, 1600 samples per channel, then a poll. After --seconds the streams are
closed and their worker processes' CPU time read (RUSAGE_CHILDREN), the workers' start and model
loading included.

    CPU per audio second  worker CPU / (seconds x channels): the real-time factor per channel
    channels per core     its inverse: how many participants one core transcribes live
    final latency         from the end of speech the engine reports (its endpointer's) to the
                          final result in hand, p50 / p95: its endpointing wait plus decoding;
                          the push to a browser adds a channel-layer hop (bench/audio.py
                          measures that for meters)
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from egress_app.transcribe.builtin import BuiltinEngine
from egress_app.transcribe.engines import EngineSettings, Words

ASSETS = Path(__file__).resolve().parent.parent / "egress_app" / "sandbox" / "assets"
SPEAKERS = ("host", "guest")
TICK = 1600  # samples: 100 ms at 16 kHz


def looped(name: str, seconds: float) -> np.ndarray:
    with wave.open(str(ASSETS / f"{name}.wav"), "rb") as asset:
        speech = np.frombuffer(asset.readframes(asset.getnframes()), "<i2")
    once = np.concatenate([speech, np.zeros(16_000, "<i2")])
    repeats = int(seconds * 16_000 / len(once)) + 1
    return np.tile(once, repeats)[: int(seconds * 16_000)]


def run(streams: int, seconds: float) -> None:
    audio = {name: looped(name, seconds) for name in SPEAKERS}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    engine = BuiltinEngine()
    opened = [engine.open(EngineSettings({}, {}, list(SPEAKERS))) for _ in range(streams)]
    started = time.monotonic()
    latencies: list[float] = []
    finals = 0
    ticks = int(seconds * 10)
    for index in range(ticks):
        time.sleep(max(0.0, started + index * 0.1 - time.monotonic()))
        for stream in opened:
            for name in SPEAKERS:
                stream.send(name, audio[name][index * TICK : (index + 1) * TICK])
            for said in stream.poll():
                if isinstance(said, Words) and said.final:
                    finals += 1
                    latencies.append(time.monotonic() - (started + said.end))
    for stream in opened:
        stream.close(timeout=10)
        finals += sum(1 for said in stream.poll() if isinstance(said, Words) and said.final)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    channel_seconds = seconds * len(SPEAKERS) * streams
    print(f"{streams} stream(s) x {len(SPEAKERS)} channels x {seconds:g} s, {finals} finals")
    print(f"CPU per audio second and channel: {cpu / channel_seconds:.3f}")
    print(f"channels per core in real time:   {channel_seconds / cpu:.1f}")
    if len(latencies) >= 2:
        p95 = statistics.quantiles(latencies, n=20)[-1]
        print(f"final latency p50 / p95:          {statistics.median(latencies):.2f} / {p95:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=30.0)
    arguments = parser.parse_args()
    run(arguments.streams, arguments.seconds)


if __name__ == "__main__":
    main()
