"""A run of steps on a worker thread that the caller stops waiting for at a deadline.

A storage profile's Test (storage/probes.py) and an engine profile's Test (transcribe/probe.py)
both call services that may hang past any timeout they were given: the steps run on a daemon
thread, and at the deadline the caller takes what was recorded so far and marks the run
abandoned, so the worker records nothing more (but may still clean up). Stdlib only, so that
both layers may import it (the speech engines import nothing of Django or of egress_app).
"""

from __future__ import annotations

import threading


class DeadlineRun[R]:
    """Mixed into a dataclass that has these attributes; it writes `_sequence` (the steps,
    checking `abandoned` under `lock`), `_result` and `_timed_out` (both called with `lock`
    held)."""

    limit: float
    lock: threading.Lock
    done: threading.Event
    abandoned: bool
    thread_name = "deadline-run"

    def wait(self) -> R:
        worker = threading.Thread(target=self._work, name=self.thread_name, daemon=True)
        worker.start()
        finished = self.done.wait(self.limit)
        with self.lock:
            if not finished:
                self.abandoned = True
                return self._timed_out()
            return self._result()

    def _work(self) -> None:
        try:
            self._sequence()
        finally:
            self.done.set()

    def _sequence(self) -> None:
        raise NotImplementedError

    def _result(self) -> R:
        raise NotImplementedError

    def _timed_out(self) -> R:
        raise NotImplementedError
