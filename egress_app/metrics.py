"""What `GET /metrics` tells Prometheus: the metrics the dashboard records, defined here.

Callers record with one call (`webhook_answered`, `livekit_called`, `reconciler_ran`). The LiveKit
client's counters are its own (egress_app/livekit/metrics.py, whose `livekit_called` this module
passes on), and the job counts are read from the database at scrape time, beside the view
(egress_app/views.py, `JobsCollector`, one GROUP BY per family).

The web server and `manage.py egress_worker` are separate processes, each with its own counters.
With `PROMETHEUS_MULTIPROC_DIR` set (before Python starts: prometheus_client reads it on import)
every process writes its values to files there and a scrape adds them all up; the directory is
shared by all of them and emptied at each deploy, before any starts. Without it a scrape shows
the answering process's own values only, never the worker's: fine in development, a warning in
production (check egress_app.W003).

No label ever holds a secret or free text: only RPC names, Twirp codes, HTTP statuses, job
statuses, kinds and cause keys. Nothing here needs Django set up or reads the models: any
process may record (the reconciler's runs are typed by `RunCounts`, not by the action's Run).
"""

from __future__ import annotations

import time
from typing import Literal, Protocol

from prometheus_client import Counter, Gauge, Histogram

from egress_app.livekit.metrics import PREFIX
from egress_app.livekit.metrics import livekit_called as livekit_called

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"

# --- webhooks ------------------------------------------------------------------------------------
WEBHOOKS = Counter(
    f"{PREFIX}_webhooks",
    "LiveKit webhooks answered, by outcome (recorded, duplicate, refused, failed) and HTTP status.",
    ["outcome", "status"],
)
WEBHOOK_SECONDS = Histogram(
    f"{PREFIX}_webhook_duration_seconds",
    "Seconds from a LiveKit webhook's arrival to its answer.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, float("inf")),
)
WebhookOutcome = Literal["recorded", "duplicate", "refused", "failed"]


def webhook_answered(outcome: WebhookOutcome, status: int, started: float) -> None:
    """Count an answer to a webhook (`started`: its `time.perf_counter()` on arrival)."""
    WEBHOOKS.labels(outcome, str(status)).inc()
    WEBHOOK_SECONDS.observe(time.perf_counter() - started)


# --- the reconciler ------------------------------------------------------------------------------
RECONCILER_RUNS = Counter(
    f"{PREFIX}_reconciler_runs",
    "Reconciler runs, by result: ok, or error (LiveKit could not be read, or the run failed).",
    ["result"],
)
RECONCILER_LAST_RUN = Gauge(
    f"{PREFIX}_reconciler_last_run_timestamp_seconds",
    "When the last reconciler run ended (Unix time), whatever its result.",
    multiprocess_mode="max",
)
# One counter per count of a run (egress_app.actions.reconcile.Run), under its field's name
# (tests/test_metrics.py checks that none is missing).
RECONCILER_DID = {
    field: Counter(f"{PREFIX}_reconciler_{field}_{unit}", f"{text}, over all reconciler runs.")
    for field, unit, text in (
        ("claimed", "jobs", "Unfinished jobs claimed for a check"),
        ("applied", "jobs", "Jobs brought up to date from LiveKit"),
        ("flagged", "jobs", "Jobs newly flagged for a person (stuck or lost)"),
        ("adopted", "jobs", "Egress started elsewhere, adopted as external jobs"),
        ("settled", "webhooks", "Webhooks that waited for their launch, settled"),
        ("tapped", "taps", "Audio taps started to follow an audio session's room"),
        ("ruled", "jobs", "Room rules started in rooms whose room_started webhook was missed"),
        ("stopped", "jobs", "Running jobs stopped at their maximum duration"),
    )
}


class RunCounts(Protocol):
    """A reconciler run (egress_app.actions.reconcile.Run): its errors, and an int attribute
    per key of RECONCILER_DID."""

    @property
    def errors(self) -> list[str]: ...


def reconciler_ran(run: RunCounts | None) -> None:
    """Count a reconciler run; None when it raised."""
    RECONCILER_RUNS.labels("error" if run is None or run.errors else "ok").inc()
    RECONCILER_LAST_RUN.set_to_current_time()
    if run is None:
        return
    for field, counter in RECONCILER_DID.items():
        counter.inc(getattr(run, field))
