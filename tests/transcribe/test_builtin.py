"""The built-in engine (PocketSphinx in a worker process) on the sandbox's podcast voices, fed as
the transcription sink feeds it: real mixer ticks, each track on its own channel."""

from __future__ import annotations

import os
import queue
import resource
import wave

import numpy as np
from pocketsphinx import Endpointer

from egress_app.transcribe.builtin import BuiltinStream, work
from egress_app.transcribe.engines import EngineSettings, Gap, Words
from egress_app.transcribe.registry import engine_for
from tests.audio.test_recorder import ASSETS, speech_ticks
from tests.transcribe.speech import recognised

SECONDS = 7.0  # both voices' two sentences, then silence


def transcribe(ticks: int) -> tuple[list[Words | Gap], list[str], float]:
    """What the engine said for `ticks` ticks of host and guest, its statuses, and its worker's
    CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    stream = engine_for("builtin").open(EngineSettings({}, {}, ["host", "guest"]))
    said: list[Words | Gap] = []
    statuses = [stream.status.text]
    for tick in speech_ticks(ticks):
        for channel, samples in tick.tracks.items():
            stream.send(channel, samples)
        said += stream.poll()
        statuses.append(stream.status.text)
    stream.close(timeout=30)
    said += stream.poll()
    statuses.append(stream.status.text)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return said, statuses, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def test_it_recognises_each_speakers_sentences_at_pauses() -> None:
    said, statuses, cpu = transcribe(int(SECONDS * 10))

    finals = [w for w in said if isinstance(w, Words) and w.final]
    for speaker in ("host", "guest"):
        heard = " ".join(w.text for w in finals if w.channel == speaker)
        assert recognised(speaker, heard) >= 0.7, heard
    assert len([w for w in finals if w.channel == "host"]) == 2  # one final per sentence
    assert all(0 <= w.start < w.end <= SECONDS + 1 and w.language == "en" for w in finals)
    partials = [w for w in said if isinstance(w, Words) and not w.final]
    assert partials
    assert all(w.text for w in partials)
    assert "live" in statuses
    assert not any(s.startswith("failed") for s in statuses)
    # CPU per audio second, the worker's start and two models' loading included: printed, not
    # asserted (a loaded machine slows it; bench/transcription.py measures the real-time factor).
    print(f"built-in engine: {cpu:.2f} CPU-s for 2 x {SECONDS} audio-s")


def test_it_says_when_its_worker_dies() -> None:
    stream = BuiltinStream(EngineSettings({}, {}, ["host"]))
    stream._process.kill()  # the worker killed under it (the OOM killer, an operator)
    stream._process.join(5)

    stream.send("host", np.zeros(1600, "<i2"))
    stream.poll()

    assert stream.status.failed
    assert "worker stopped" in stream.status.text
    stream.close(timeout=1)


def test_it_marks_a_gap_when_the_worker_falls_behind() -> None:
    stream = BuiltinStream(EngineSettings({}, {}, ["host"]))
    stream._backlog = 1600  # as if the worker were many seconds behind
    for _ in range(5):
        stream.send("host", np.zeros(1600, "<i2"))
    stream._unheard = 0  # it caught up
    stream.send("host", np.zeros(1600, "<i2"))

    gaps = [g for g in stream.poll() if isinstance(g, Gap)]
    stream.close(timeout=10)

    assert len(gaps) == 1
    assert gaps[0].channel == "host"
    assert gaps[0].start > 0
    assert gaps[0].end > gaps[0].start
    assert "fell behind" in gaps[0].reason


def test_it_ends_an_utterance_cut_by_the_close() -> None:
    # 12 ticks of 3200 bytes are whole 30 ms frames: nothing is left over for the endpointer's
    # last call (which refuses an empty frame), mid-sentence.
    stream = BuiltinStream(EngineSettings({}, {}, ["host"]))
    for tick in speech_ticks(12):
        stream.send("host", tick.tracks["host"])

    stream.close(timeout=30)
    said = stream.poll()

    assert not stream.status.failed, stream.status.text
    finals = [w for w in said if isinstance(w, Words) and w.final]
    assert len(finals) == 1
    assert "hello" in finals[0].text


def frames_until_an_empty_end() -> bytes:
    """The host's voice up to a frame where the endpointer is still in speech but its queue
    starts with a silent frame: there, `end_stream` gives back no speech at all (b"")."""
    with wave.open(str(ASSETS / "host.wav"), "rb") as asset:
        pcm = asset.readframes(asset.getnframes())
    size = Endpointer(sample_rate=16_000).frame_bytes
    for count in range(1, len(pcm) // size):
        endpointer = Endpointer(sample_rate=16_000)
        for index in range(count):
            endpointer.process(pcm[index * size : (index + 1) * size])
        if endpointer.in_speech and endpointer.end_stream(bytes(2)) == b"":
            return pcm[: count * size]
    raise AssertionError("the host's voice never leaves the endpointer with nothing to give")


def test_it_survives_an_utterance_cut_where_the_endpointer_has_no_speech_left() -> None:
    """A channel's audio jumps (audio dropped under load, a participant back) or the stream
    closes mid-utterance at a moment when the endpointer's last words are b"": the decoder must
    not be handed that empty buffer (PocketSphinx raises IndexError on it)."""
    audio: queue.Queue[tuple[object, ...] | None] = queue.Queue()
    results: queue.Queue[tuple[object, ...]] = queue.Queue()
    cut = frames_until_an_empty_end()
    later = len(cut) // 2 + 16_000
    audio.put(("host", 0, cut))
    audio.put(("host", later, bytes(3200)))  # a second dropped after the cut: a jump
    audio.put(("host", later + 1600 + 16_000, cut))  # another jump, then the same cut...
    audio.put(None)  # ...ended by the close

    work(audio, results, os.getppid())  # type: ignore[arg-type]

    said = [results.get_nowait() for _ in range(results.qsize())]
    assert [m for m in said if m[0] == "failed"] == []
    assert said[-1] == ("closed",)


PARENT = """
import sys, time
from egress_app.transcribe.builtin import BuiltinStream
from egress_app.transcribe.engines import EngineSettings
stream = BuiltinStream(EngineSettings({}, {}, ["host"]))
print(stream._process.pid, flush=True)
time.sleep(120)
"""


def test_it_leaves_no_worker_behind_a_killed_parent() -> None:
    """A web process killed mid-session (SIGKILL, or Ctrl-C on `make run`) never closes its
    streams: each PocketSphinx worker notices it is an orphan and exits."""
    import os
    import signal
    import subprocess
    import sys
    import time

    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        worker = int(parent.stdout.readline())
        os.kill(worker, 0)  # running
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and _running(worker):
        time.sleep(0.1)
    assert not _running(worker)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False
