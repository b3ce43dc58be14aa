"""Timing helpers the benchmark scripts share: bounded sequential runs, one report line each."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

# An ASGI app's arguments: the benchmarks' bare anchors take them.
Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


async def measure(
    call: Callable[[], Awaitable[object]], calls: int, budget: float
) -> tuple[list[float], float]:
    await call()  # warm the connection pool
    samples: list[float] = []
    began = time.perf_counter()
    deadline = began + budget
    while len(samples) < calls and time.perf_counter() < deadline:
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    return samples, time.perf_counter() - began


def percentile(ordered: list[float], fraction: float) -> float:
    """The value at `fraction` (0.5, 0.95, 0.99) of an ascending list (nearest rank)."""
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def report(name: str, samples: list[float], elapsed: float) -> None:
    ms = sorted(sample * 1000 for sample in samples)
    p50 = statistics.median(ms)
    p95 = percentile(ms, 0.95)
    print(
        f"  {name:<28} n={len(ms):>4}  p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  "
        f"{len(ms) / elapsed:8.1f} calls/s"
    )


def read_json(child: subprocess.Popen[str]) -> Any:
    """The next line a helper process printed, as JSON; exits when the helper has died."""
    assert child.stdout is not None
    line = child.stdout.readline()
    if not line:
        sys.exit(f"a helper process exited ({child.wait()})")
    return json.loads(line)
