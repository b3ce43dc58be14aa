"""Machine endpoints: the health check and the metrics (the webhook receiver lives in
webhooks.py). The metrics are recorded through egress_app/metrics.py; the job counts are read
here, from the database, at scrape time."""

from __future__ import annotations

import asyncio
import hmac
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector, CollectorRegistry

from egress_app import failures
from egress_app.livekit import LiveKitError, get_livekit_client
from egress_app.metrics import MULTIPROC_DIR, PREFIX
from egress_app.models import EgressJob
from egress_app.roles import VIEW_ALL_JOBS, perm

Check = dict[str, Any]

# Seconds. A load balancer polls this: it must answer well before the balancer gives up.
HEALTHZ_TIMEOUT = 3.0


@login_not_required
@never_cache
@require_GET
async def healthz(request: HttpRequest) -> JsonResponse:
    """Is every part the dashboard needs up? 200 if so, 503 if not; open to anonymous callers."""
    names = ("database", "channel_layer", "livekit")
    results = await asyncio.gather(
        _timed(_check_database), _timed(_check_channel_layer), _timed(_check_livekit)
    )
    checks = dict(zip(names, results, strict=True))
    healthy = all(check["ok"] for check in results)
    body = {"status": "ok" if healthy else "fail", "checks": checks}
    return JsonResponse(body, status=200 if healthy else 503)


def _timeout() -> float:
    return float(getattr(settings, "HEALTHZ_TIMEOUT", HEALTHZ_TIMEOUT))


async def _timed(check: Callable[[], Awaitable[None]]) -> Check:
    """Run one check under the timeout; a failure is reported in words, never raised."""
    started = time.perf_counter()
    result: Check = {"ok": True}
    try:
        await asyncio.wait_for(check(), timeout=_timeout())
    except TimeoutError:
        result = {"ok": False, "error": f"no answer within {_timeout():g} s"}
    except Exception as exc:  # any failure is a failed check, not a 500
        result = {"ok": False, "error": _redact(_describe(exc))}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def _describe(exc: Exception) -> str:
    if isinstance(exc, LiveKitError):
        # The code and LiveKit's own words; not `plain`, which names the internal LiveKit URL.
        return f"{exc.code}: {exc.message}"
    return f"{type(exc).__name__}: {exc}"


def _redact(text: str) -> str:
    # The body is public: an error text must never carry LiveKit's key or secret.
    for secret in (settings.LIVEKIT_API_SECRET, settings.LIVEKIT_API_KEY):
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


async def _check_database() -> None:
    await sync_to_async(_select_one)()


def _select_one() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


async def _check_channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer is configured")
    channel = await layer.new_channel("healthz")
    nonce = uuid.uuid4().hex
    await layer.send(channel, {"type": "healthz.ping", "nonce": nonce})
    message = await layer.receive(channel)
    if message.get("nonce") != nonce:
        raise RuntimeError("the channel layer returned a different message")


async def _check_livekit() -> None:
    await get_livekit_client().list_rooms()


@login_not_required  # Prometheus cannot sign in: it sends METRICS_TOKEN instead
@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus' scrape: for the METRICS_TOKEN bearer token, or a signed-in user who may
    review every job (support, admins); 401 for anyone else, 403 signed in without that."""
    if not _has_metrics_token(request):
        if not request.user.is_authenticated:
            headers = {"WWW-Authenticate": 'Bearer realm="metrics"'}
            return HttpResponse("unauthorized", status=401, headers=headers)
        if not request.user.has_perm(perm(VIEW_ALL_JOBS)):
            raise PermissionDenied
    body, content_type = exposition(request.headers.get("Accept", ""))
    return HttpResponse(body, content_type=content_type)


def _has_metrics_token(request: HttpRequest) -> bool:
    expected = settings.METRICS_TOKEN
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(token.strip().encode(), expected.encode())


# --- jobs, read at scrape time -------------------------------------------------------------------
class JobsCollector:
    """Jobs by LiveKit status, launch state and kind, and open jobs needing a person by cause."""

    def collect(self) -> Iterable[Metric]:
        yield self._jobs()
        yield self._needing_a_person()

    def _jobs(self) -> Metric:
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
