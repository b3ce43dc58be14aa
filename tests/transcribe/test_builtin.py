"""The built-in engine (PocketSphinx in a worker process) on the sandbox's podcast voices, fed as
the transcription sink feeds it: real mixer ticks, each track on its own channel."""

from __future__ import annotations

import resource

import numpy as np

from egress_app.transcribe.builtin import BuiltinStream
from egress_app.transcribe.engines import EngineSettings, Gap, Words
from egress_app.transcribe.registry import engine_for
from tests.audio.test_recorder import speech_ticks
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
    # CPU per audio second, the worker's start and two models' loading included.
    print(f"built-in engine: {cpu:.2f} CPU-s for 2 x {SECONDS} audio-s")
    assert cpu / (2 * SECONDS) < 0.3


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
