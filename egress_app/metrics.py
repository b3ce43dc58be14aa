"""What `GET /metrics` tells Prometheus: every metric the dashboard exposes, defined here.

Callers record with one call (`webhook_answered`, `livekit_called`, `reconciler_ran`); the LiveKit
client's counters are its own (egress_app/livekit/metrics.py, whose `livekit_called` this module
passes on); the job counts are read from the database at scrape time (`JobsCollector`, one
GROUP BY per family).

The web server and `manage.py egress_worker` are separate processes, each with its own counters.
With `PROMETHEUS_MULTIPROC_DIR` set (before Python starts: prometheus_client reads it on import)
every process writes its values to files there and a scrape adds them all up; the directory is
shared by all of them and emptied at each deploy, before any starts. Without it a scrape shows
the answering process's own values only, never the worker's: fine in development, a warning in
production (check egress_app.W003).

No label ever holds a secret or free text: only RPC names, Twirp codes, HTTP statuses, job
statuses, kinds and cause keys.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Literal

from django.db.models import Count
from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector, CollectorRegistry

from egress_app.livekit.metrics import PREFIX
from egress_app.livekit.metrics import livekit_called as livekit_called

if TYPE_CHECKING:
    # Only a type: the reconciler is an action, above this module.
    from egress_app.actions.reconcile import Run

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
    )
}


def reconciler_ran(run: Run | None) -> None:
    """Count a reconciler run; None when it raised."""
    RECONCILER_RUNS.labels("error" if run is None or run.errors else "ok").inc()
    RECONCILER_LAST_RUN.set_to_current_time()
    if run is None:
        return
    for field, counter in RECONCILER_DID.items():
        counter.inc(getattr(run, field))


# --- jobs, read at scrape time -------------------------------------------------------------------
class JobsCollector:
    """Jobs by LiveKit status, launch state and kind, and open jobs needing a person by cause."""

    def collect(self) -> Iterable[Metric]:
        yield self._jobs()
        yield self._needing_a_person()

    def _jobs(self) -> Metric:
        # Here, not on top: models need Django set up.
        from egress_app.models import EgressJob

        family = GaugeMetricFamily(
            f"{PREFIX}_jobs",
            "Jobs by LiveKit status (blank until LiveKit answers), launch state and kind.",
            labels=["status", "launch_state", "kind"],
        )
        rows = EgressJob.objects.order_by().values("status", "launch_state", "kind")
        for row in rows.annotate(count=Count("pk")):
            family.add_metric([row["status"], row["launch_state"], row["kind"]], row["count"])
        return family

    def _needing_a_person(self) -> Metric:
        from egress_app import failures

        family = GaugeMetricFamily(
            f"{PREFIX}_jobs_needing_a_person",
            "Jobs that need a person and are not resolved, by cause (unknown: not catalogued).",
            labels=["cause"],
        )
        counts = dict.fromkeys((cause.key for cause in failures.CAUSES), 0)
        rows = failures.needing_a_person("open").order_by().values("cause")
        for row in rows.annotate(count=Count("pk")):
            # "unknown:<LiveKit's message>" would make a label of free text: one "unknown".
            counts[failures.described(row["cause"])[0].key] += row["count"]
        for key, count in counts.items():
            family.add_metric([key], count)
        return family


# --- the scrape ----------------------------------------------------------------------------------
class _Scrape:
    def __init__(self, *sources: Collector) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        for source in self.sources:
            yield from source.collect()


def exposition(accept: str = "") -> tuple[bytes, str]:
    """Every metric and its content type, in the format `accept` (an Accept header) asks for
    (Prometheus' text format by default): all processes' values (multiprocess mode) or this
    process's own, and the job counts from the database."""
    if path := os.environ.get(MULTIPROC_DIR):
        processes: Collector = CollectorRegistry()
        MultiProcessCollector(processes, path=path)
    else:
        processes = REGISTRY  # also the process's CPU, memory and garbage collector
    encode, content_type = choose_encoder(accept)
    return encode(_Scrape(processes, JobsCollector())), content_type
