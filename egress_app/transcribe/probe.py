"""An engine profile's Test: open a short real session, send it a few seconds of speech, wait
for its first words, close it, and say how each step went in plain words.

`run_engine_test` is bounded and never raises: the session runs in a worker thread and the
caller stops waiting at the deadline (the worker still closes the stream). Like the storage
connection test (egress_app/storage/probes.py). The engine's own words (its `Status`) say why a
step failed: a wrong key, an unreachable server, a refused audio format.
"""

from __future__ import annotations

import threading
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from egress_app.deadline import DeadlineRun
from egress_app.redact import redactor
from egress_app.transcribe.engines import (
    MIX,
    SAMPLE_RATE,
    Engine,
    EngineSettings,
    EngineStream,
    Gap,
    Samples,
    Words,
)

STEPS = ("connect", "send", "result", "close")
CHUNK = SAMPLE_RATE // 10  # the 100 ms a session's sink hands an engine per tick
POLL_EVERY = 0.05
WAITING = ("connecting", "starting")  # how engines say they are not ready yet


@dataclass
class EngineTestStep:
    name: str  # one of STEPS
    ok: bool
    message: str
    ms: float


@dataclass
class EngineTestResult:
    ok: bool
    message: str
    steps: list[EngineTestStep]


class StepFailed(Exception):
    """A step's failure in plain words (the engine's own, where it gave some)."""


def load_speech(path: Path, seconds: float = 3.0) -> Samples:
    """The first `seconds` of a 16 kHz mono 16-bit WAV file (the sandbox's speech assets)."""
    with wave.open(str(path), "rb") as wav:
        shape = (wav.getframerate(), wav.getnchannels(), wav.getsampwidth())
        if shape != (SAMPLE_RATE, 1, 2):
            raise ValueError(f"{path.name} is not 16 kHz mono 16-bit PCM: {shape}")
        frames = wav.readframes(int(SAMPLE_RATE * seconds))
    return np.frombuffer(frames, dtype=np.int16).copy()


def run_engine_test(
    engine: Engine,
    settings: EngineSettings,
    speech: Samples,
    *,
    timeout: float,
    pace: float = CHUNK / SAMPLE_RATE,
    expect_words: bool = True,
) -> EngineTestResult:
    """Open, send `speech` in 100 ms chunks every `pace` seconds (real time by default), wait
    for the first result (unless `expect_words` is off: a Forward service that sends none),
    close; all within `timeout` seconds. Never raises."""
    redact = redactor(settings.secrets.values())
    run = _Run(engine, settings, speech, timeout, pace, expect_words)
    try:
        result = run.wait()
    except Exception as exc:  # a bug here must still come back as a failed test, not a 500
        step = EngineTestStep("connect", False, f"Unexpected error ({type(exc).__name__}).", 0.0)
        result = EngineTestResult(False, step.message, [step, *_skipped(STEPS[1:])])
    steps = [EngineTestStep(s.name, s.ok, redact(s.message), s.ms) for s in result.steps]
    return EngineTestResult(result.ok, redact(result.message), steps)


def _skipped(names: tuple[str, ...]) -> list[EngineTestStep]:
    return [EngineTestStep(name, False, "skipped", 0.0) for name in names]


def _ms_since(began: float) -> float:
    return round((time.monotonic() - began) * 1000, 1)


def _quoted(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return f"“{text[:limit]}…”" if len(text) > limit else f"“{text}”"


@dataclass
class _Run(DeadlineRun[EngineTestResult]):
    """One test session: the worker records steps here; the caller reads them at the deadline."""

    thread_name = "engine-test"

    engine: Engine
    settings: EngineSettings
    speech: Samples
    limit: float
    pace: float
    expect_words: bool = True
    steps: dict[str, EngineTestStep] = field(default_factory=dict)
    began: float = field(default_factory=time.monotonic)
    current_began: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: threading.Event = field(default_factory=threading.Event)
    abandoned: bool = False
    current: str = "connect"
    stream: EngineStream | None = None
    heard: list[Words] = field(default_factory=list)

    def _sequence(self) -> None:
        if not self._step("connect", self._connect):
            return
        if self._step("send", self._send):
            self._step("result", self._first_result)
        # Close even when a step failed or the caller gave up: no session is left open.
        self._step("close", self._close, always=True)

    def _step(self, name: str, action: Callable[[], str], *, always: bool = False) -> bool:
        with self.lock:
            if self.abandoned and not always:
                return False
            self.current, self.current_began = name, time.monotonic()
            began = self.current_began
        try:
            message, ok = action(), True
        except StepFailed as failure:
            message, ok = str(failure), False
        except Exception as exc:
            message, ok = f"The engine raised {type(exc).__name__}: {exc}", False
        with self.lock:
            if not self.abandoned:
                self.steps[name] = EngineTestStep(name, ok, message, _ms_since(began))
        return ok

    def _left(self) -> float:
        return self.limit - (time.monotonic() - self.began)

    def _check_status(self, doing: str) -> None:
        assert self.stream is not None
        status = self.stream.status
        if status.failed:
            raise StepFailed(f"The engine refused while {doing}: {status.text}")

    def _collect(self) -> None:
        assert self.stream is not None
        self.heard += [item for item in self.stream.poll() if isinstance(item, Words)]

    def _connect(self) -> str:
        self.stream = self.engine.open(self.settings)
        # Engines connect (or start a worker) in their own thread, and some say so only as
        # they are polled (the session's sink polls every tick): poll until they are ready.
        while self.stream.status.text.startswith(WAITING) and self._left() > 0:
            self._collect()
            time.sleep(POLL_EVERY)
        self._check_status("connecting")
        status = self.stream.status.text
        if status.startswith(WAITING):
            raise StepFailed(f"Timed out after {self.limit:g} s: the engine never connected.")
        if status.startswith("reconnecting"):  # its first try failed: unreachable, or refused
            raise StepFailed(f"The engine could not connect: {status}")
        return f"Opened a session; the engine says: {self.stream.status.text}."

    def _send(self) -> str:
        assert self.stream is not None
        chunks = range(0, len(self.speech), CHUNK)
        for start in chunks:
            self.stream.send(MIX, self.speech[start : start + CHUNK])
            self._check_status("receiving audio")
            self._collect()
            time.sleep(self.pace)
        seconds = len(self.speech) / SAMPLE_RATE
        return f"Sent {seconds:.1f} s of speech (16 kHz mono, 16-bit) in {len(chunks)} chunks."

    def _first_result(self) -> str:
        if not self.expect_words:
            return "Not waited for: this profile takes no results back."
        while not self.heard and self._left() > 0:
            self._check_status("listening")
            self._collect()
            if not self.heard:
                time.sleep(POLL_EVERY)
        self._check_status("listening")
        if not self.heard:
            raise StepFailed("The engine took the audio but sent no words back in time.")
        first = self.heard[0]
        kind = "final" if first.final else "partial"
        return f"First result ({kind}): {_quoted(first.text)}."

    def _close(self) -> str:
        if self.stream is None:
            return "Nothing to close."
        self.stream.close(timeout=max(0.5, min(5.0, self._left())))
        late = [item for item in self.stream.poll() if isinstance(item, Words | Gap)]
        words = sum(1 for item in self.heard if item.final) + sum(
            1 for item in late if isinstance(item, Words) and item.final
        )
        return f"Closed the session ({words} final result{'s' if words != 1 else ''} in all)."

    def _ordered(self) -> list[EngineTestStep]:
        return [self.steps.get(name) or _skipped((name,))[0] for name in STEPS]

    def _result(self) -> EngineTestResult:
        steps = self._ordered()
        if all(step.ok for step in steps):
            return EngineTestResult(True, "The engine heard the test speech and answered.", steps)
        failed = next(step for step in steps if not step.ok)
        return EngineTestResult(False, f"{_STEP_NAMES[failed.name]}: {failed.message}", steps)

    def _timed_out(self) -> EngineTestResult:
        missing = [name for name in STEPS if name not in self.steps]
        name = self.current if self.current not in self.steps else missing[0] if missing else ""
        if not name:  # finished between the deadline and the lock
            return self._result()
        words = f"Timed out after {self.limit:g} s: the engine did not answer in time."
        self.steps[name] = EngineTestStep(name, False, words, _ms_since(self.current_began))
        return EngineTestResult(False, f"{_STEP_NAMES[name]}: {words}", self._ordered())


_STEP_NAMES = {
    "connect": "Connecting failed",
    "send": "Sending audio failed",
    "result": "No result",
    "close": "Closing failed",
}
