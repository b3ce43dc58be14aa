"""Storage connection tests: write a small probe object, read it back, delete it.

`run_probe` is the contract the pages and actions call. It never raises and it is bounded: the SDK
work runs in a worker thread and the caller stops waiting at the deadline. Each provider lives in
its own `probe_<provider>.py` module with a `Target` class that talks to the provider's official SDK
and turns the SDK's errors into plain words.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from egress_app.deadline import DeadlineRun
from egress_app.storage.probe_common import (
    STEPS,
    ProbeMismatch,
    ProbeSettings,
    Target,
    explain,
    redactor,
    sentence,
    step_failure,
)

PROBE_PREFIX = "egress-dashboard-probe-"


@dataclass
class ProbeStep:
    name: str  # "connect", "write", "read" or "delete"
    ok: bool
    message: str
    ms: float


@dataclass
class ProbeResult:
    ok: bool
    message: str
    steps: list[ProbeStep]


def _targets() -> dict[
    str, Callable[[Mapping[str, Any], Mapping[str, str], ProbeSettings], Target]
]:
    # Imported here so that loading this module does not import four SDKs.
    from egress_app.storage.probe_azure import AzureTarget
    from egress_app.storage.probe_gcs import GCSTarget
    from egress_app.storage.probe_oss import OSSTarget
    from egress_app.storage.probe_s3 import S3Target

    return {"s3": S3Target, "gcp": GCSTarget, "azure": AzureTarget, "alioss": OSSTarget}


def make_target(
    provider: str, config: Mapping[str, Any], secrets: Mapping[str, str], probe: ProbeSettings
) -> Target:
    """The provider's `Target` (KeyError for an unknown provider), not yet connected."""
    return _targets()[provider](config, secrets, probe)


def run_probe(
    provider: str,
    config: dict[str, Any],
    secrets: dict[str, str],
    *,
    timeout: float | None = None,
) -> ProbeResult:
    """Write, read back and delete a probe object with the provider's SDK; never raises.

    `config` may also hold `path_prefix` (a folder such as "recordings/") to put the probe under.
    The whole probe finishes within `timeout` seconds (default settings.STORAGE_TEST_TIMEOUT).
    """
    limit = float(settings.STORAGE_TEST_TIMEOUT if timeout is None else timeout)
    redact = redactor(secrets)
    try:
        result = _run(provider, config, secrets, limit)
    except Exception as exc:  # a bug here must still come back as a failed test, not a 500
        step = ProbeStep("connect", False, f"Unexpected error ({type(exc).__name__}: {exc})", 0.0)
        result = ProbeResult(False, step.message, [step, *_skipped(STEPS[1:])])
    return _redacted(result, redact)


def _run(
    provider: str, config: dict[str, Any], secrets: dict[str, str], limit: float
) -> ProbeResult:
    factory = _targets().get(provider)
    if factory is None:
        message = f"Unknown storage provider {provider!r}."
        steps = [ProbeStep("connect", False, message, 0.0), *_skipped(STEPS[1:])]
        return ProbeResult(False, message, steps)
    target = factory(config, secrets, ProbeSettings.from_django(limit))
    run = _Run(target, _probe_key(config), limit)
    return run.wait()


def _probe_key(config: Mapping[str, Any]) -> str:
    prefix = str(config.get("path_prefix") or "").strip().lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return f"{prefix}{PROBE_PREFIX}{uuid.uuid4()}.txt"


def _skipped(names: tuple[str, ...]) -> list[ProbeStep]:
    return [ProbeStep(name, False, "skipped", 0.0) for name in names]


def _redacted(result: ProbeResult, redact: Callable[[str], str]) -> ProbeResult:
    steps = [ProbeStep(s.name, s.ok, redact(s.message), s.ms) for s in result.steps]
    return ProbeResult(result.ok, redact(result.message), steps)


@dataclass
class _Run(DeadlineRun[ProbeResult]):
    """One probe: the worker thread records steps here; the caller reads them at the deadline."""

    thread_name = "storage-probe"

    target: Target
    key: str
    limit: float
    steps: list[ProbeStep] = field(default_factory=list)
    current_began: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: threading.Event = field(default_factory=threading.Event)
    abandoned: bool = False
    failure: str = ""

    def _sequence(self) -> None:
        body = f"Egress Dashboard storage test {self.key}\n".encode()
        if not self._step("connect", self.target.connect):
            return
        if not self._step("write", lambda: self._write(body)):
            return
        self._step("read", lambda: self._read(body))
        # Delete even when the read failed or the caller gave up: the probe must not be left behind.
        self._step("delete", self._delete, always=True)

    def _step(self, name: str, action: Callable[[], str], *, always: bool = False) -> bool:
        with self.lock:
            if self.abandoned and not always:
                return False
            self.current_began = began = time.monotonic()
        failure = ""
        try:
            message, ok = action(), True
        except Exception as exc:
            explanation = explain(self.target, exc, name)
            message, ok = sentence(explanation), False
            failure = step_failure(name, self.target.where, explanation)
        with self.lock:
            if not self.abandoned:
                self.steps.append(ProbeStep(name, ok, message, _ms_since(began)))
                self.failure = self.failure or failure
        return ok

    def _write(self, body: bytes) -> str:
        self.target.write(self.key, body)
        return f"Wrote {len(body)} bytes to {self.key} in {self.target.where}."

    def _read(self, body: bytes) -> str:
        got = self.target.read(self.key)
        if got != body:
            raise ProbeMismatch(len(body), len(got))
        return f"Read the {len(got)} bytes back unchanged."

    def _delete(self) -> str:
        self.target.delete(self.key)
        return f"Deleted {self.key}."

    def _result(self) -> ProbeResult:
        steps = self.steps + _skipped(STEPS[len(self.steps) :])
        if all(step.ok for step in steps):
            where = self.target.where
            return ProbeResult(
                True, f"Wrote, read back and deleted a probe object in {where}.", steps
            )
        return ProbeResult(False, self.failure, steps)

    def _timed_out(self) -> ProbeResult:
        if len(self.steps) == len(STEPS):  # finished in the instant between deadline and lock
            return self._result()
        seconds, name = f"{self.limit:g}", STEPS[len(self.steps)]
        words = f"timed out after {seconds} s: the storage service did not answer in time"
        stuck = ProbeStep(name, False, sentence(words), _ms_since(self.current_began))
        steps = [*self.steps, stuck]
        steps += _skipped(STEPS[len(steps) :])
        failed = self.failure or step_failure(name, self.target.where, words)
        return ProbeResult(False, failed, steps)


def _ms_since(began: float) -> float:
    return round((time.monotonic() - began) * 1000, 1)
