"""What the LiveKit client counts of its own Twirp calls, for `GET /metrics`.

The client records every call here, in prometheus_client's default registry like every other
metric (egress_app/metrics.py lists them all), so the seam to LiveKit imports nothing of the
rest of the project. No label holds a secret or free text: only RPC names and Twirp codes.
"""

from __future__ import annotations

import time

from prometheus_client import Counter, Histogram

from egress_app.livekit.errors import TWIRP_STATUS

# Every metric of the dashboard's starts with it.
PREFIX = "egress_dashboard"

LIVEKIT_CALLS = Counter(
    f"{PREFIX}_livekit_calls",
    "Twirp calls to LiveKit, by RPC and result (ok, or the Twirp error code).",
    ["method", "result"],
)
LIVEKIT_SECONDS = Histogram(
    f"{PREFIX}_livekit_call_duration_seconds",
    "Seconds a Twirp call to LiveKit took, answered or not (Start calls may take over a minute).",
    ["method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 75, float("inf")),
)


# Each (method, result)'s labelled counter and histogram: `labels()` takes a lock and builds
# its key on every call, a tenth of what a whole call to a nearby LiveKit costs us.
_SERIES: dict[tuple[str, str], tuple[Counter, Histogram]] = {}


def livekit_called(method: str, result: str, started: float) -> None:
    """Count a Twirp call: `result` is "ok" or the error's Twirp code."""
    # A proxy could answer Twirp-shaped JSON with any code: keep the label's values bounded.
    if result != "ok" and result not in TWIRP_STATUS:
        result = "unknown"
    series = _SERIES.get((method, result))
    if series is None:
        series = (LIVEKIT_CALLS.labels(method, result), LIVEKIT_SECONDS.labels(method))
        _SERIES[(method, result)] = series
    series[0].inc()
    series[1].observe(time.perf_counter() - started)
