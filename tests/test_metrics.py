"""`GET /metrics`: Prometheus' text format, who may read it, and what each metric counts (real
webhooks, real Twirp calls to the sandbox, real worker runs, real job rows).

Counters live as long as the test process, so each test compares before and after.
"""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import httpx
import pytest
from asgiref.sync import async_to_sync
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from livekit.protocol import egress
from prometheus_client.parser import text_string_to_metric_families
from pytest_django.fixtures import Settings

from egress_app import actions, metrics
from egress_app.actions.reconcile import Run
from egress_app.livekit import LiveKitClient, LiveKitError, get_livekit_client
from egress_app.models import EgressJob, EgressKind, EgressStatus, LaunchState, Triage
from egress_app.sandbox.testing import RunningSandbox
from tests.live import KEY, SECRET, body_of, deliver, event, post, sign

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

pytestmark = pytest.mark.django_db
TOKEN = "metrics-test-token-0123456789"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(autouse=True)
def configured(settings: Settings) -> None:
    settings.METRICS_TOKEN = TOKEN
    settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET = KEY, SECRET


def scrape(client: Client | None = None, **headers: str) -> Response:
    headers.setdefault("Authorization", f"Bearer {TOKEN}")
    return (client or Client()).get(reverse("egress-metrics"), headers=headers)


def samples() -> Samples:
    response = scrape()
    assert response.status_code == 200
    families = text_string_to_metric_families(response.content.decode())
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in families
        for sample in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def job(status: str = EgressStatus.ACTIVE, kind: str = EgressKind.WEB, **fields: object) -> None:
    EgressJob.objects.create(kind=kind, status=status, launch_state=LaunchState.LAUNCHED, **fields)


# --- the format ---------------------------------------------------------------------------------
def test_it_answers_in_prometheus_text_format() -> None:
    response = scrape()

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "no-cache" in response["Cache-Control"]
    types = {f.name: f.type for f in text_string_to_metric_families(response.content.decode())}
    assert {
        "egress_dashboard_webhooks": "counter",
        "egress_dashboard_webhook_duration_seconds": "histogram",
        "egress_dashboard_livekit_calls": "counter",
        "egress_dashboard_livekit_call_duration_seconds": "histogram",
        "egress_dashboard_reconciler_runs": "counter",
        "egress_dashboard_reconciler_claimed_jobs": "counter",
        "egress_dashboard_reconciler_settled_webhooks": "counter",
        "egress_dashboard_reconciler_last_run_timestamp_seconds": "gauge",
        "egress_dashboard_jobs": "gauge",
        "egress_dashboard_jobs_needing_a_person": "gauge",
    }.items() <= types.items()


def test_it_answers_in_openmetrics_when_asked() -> None:
    response = scrape(Accept="application/openmetrics-text; version=1.0.0")

    assert response["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    assert response.content.endswith(b"# EOF\n")


def test_it_scrapes_with_two_queries(django_assert_num_queries) -> None:
    with django_assert_num_queries(2):  # one GROUP BY for jobs, one for causes
        assert scrape().status_code == 200


# --- who may read it ----------------------------------------------------------------------------
def test_it_refuses_an_anonymous_caller() -> None:
    response = Client().get(reverse("egress-metrics"))

    assert response.status_code == 401  # not a redirect to the login page
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'


@pytest.mark.parametrize("authorization", [f"Bearer {TOKEN}x", "Bearer ", f"Basic {TOKEN}", TOKEN])
def test_it_refuses_a_wrong_token(authorization: str) -> None:
    assert scrape(Authorization=authorization).status_code == 401


def test_it_refuses_every_token_when_none_is_configured(settings: Settings) -> None:
    settings.METRICS_TOKEN = ""

    assert scrape(Authorization="Bearer ").status_code == 401
    assert scrape(Authorization="Bearer").status_code == 401


def test_it_accepts_the_token_in_any_case_of_its_scheme() -> None:
    assert scrape(Authorization=f"bearer {TOKEN}").status_code == 200


@pytest.mark.parametrize("persona", ["producer", "outsider"])
def test_it_forbids_signed_in_users_who_cannot_review_every_job(
    persona: str, request: pytest.FixtureRequest
) -> None:
    client = Client()
    client.force_login(request.getfixturevalue(persona))

    assert scrape(client, Authorization="").status_code == 403


@pytest.mark.parametrize("persona", ["support", "admin"])
def test_it_shows_support_and_admins_in_the_browser(
    persona: str, request: pytest.FixtureRequest
) -> None:
    client = Client()
    client.force_login(request.getfixturevalue(persona))

    response = scrape(client, Authorization="")

    assert response.status_code == 200
    assert b"egress_dashboard_jobs" in response.content


def test_it_refuses_post() -> None:
    response = Client().post(
        reverse("egress-metrics"), headers={"Authorization": f"Bearer {TOKEN}"}
    )

    assert response.status_code == 405


# --- jobs ---------------------------------------------------------------------------------------
def test_it_counts_jobs_by_status_launch_state_and_kind() -> None:
    job(EgressStatus.ACTIVE, EgressKind.WEB)
    job(EgressStatus.ACTIVE, EgressKind.WEB)
    job(EgressStatus.COMPLETE, EgressKind.TRACK)
    EgressJob.objects.create(kind=EgressKind.WEB, status="", launch_state=LaunchState.LAUNCHING)

    found = samples()

    jobs = {k: v for k, v in found.items() if k[0] == "egress_dashboard_jobs"}
    labels = ("status", "launch_state", "kind")
    assert {tuple(dict(k[1])[name] for name in labels): v for k, v in jobs.items()} == {
        ("EGRESS_ACTIVE", "launched", "web"): 2,
        ("EGRESS_COMPLETE", "launched", "track"): 1,
        ("", "launching", "web"): 1,
    }


def test_it_counts_open_jobs_needing_a_person_by_cause() -> None:
    for error in ["no response from servers"] * 3 + ["not catalogued", "nor this one"]:
        job(EgressStatus.FAILED, error=error)
    job(EgressStatus.COMPLETE)
    resolved = EgressJob.objects.filter(error="no response from servers").first()
    EgressJob.objects.filter(pk=resolved.pk).update(triage=Triage.RESOLVED)

    found = samples()

    name = "egress_dashboard_jobs_needing_a_person"
    assert value(found, name, cause="no_worker") == 2
    assert value(found, name, cause="unknown") == 2  # their messages never become labels
    assert (name, frozenset({("cause", "empty_output")})) in found  # every cause, 0 included
    assert not any("catalogued" in str(key) or "nor this" in str(key) for key in found)


# --- webhooks -----------------------------------------------------------------------------------
def test_it_counts_webhooks_recorded_duplicated_and_refused() -> None:
    before = samples()
    payload = event("egress_started__no_status")

    deliver(payload)
    deliver(payload)
    body = body_of(payload)
    post(body, sign(body, secret="not-the-secret"))

    after = samples()
    for outcome, status in (("recorded", "200"), ("duplicate", "200"), ("refused", "401")):
        labels = {"outcome": outcome, "status": status}
        delta = value(after, "egress_dashboard_webhooks_total", **labels) - value(
            before, "egress_dashboard_webhooks_total", **labels
        )
        assert delta == 1, outcome
    timed = "egress_dashboard_webhook_duration_seconds_count"
    assert value(after, timed) - value(before, timed) == 3


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_counts_webhooks_answered_ahead_of_django(monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboard.asgi import application

    async def send(body: str, authorization: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            headers = {"Authorization": authorization}
            return await client.post("/livekit/webhook", content=body, headers=headers)

    name = "egress_dashboard_webhooks_total"
    before = samples()
    body = body_of(event("egress_started__no_status"))
    assert asyncio.run(send(body, sign(body))).status_code == 200
    assert asyncio.run(send(body, "not-a-token")).status_code == 401
    monkeypatch.setattr(actions, "receive_webhooks", fail)
    other = body_of(event("egress_updated__active"))
    with pytest.raises(RuntimeError, match="database down"):
        asyncio.run(send(other, sign(other)))

    after = samples()
    for outcome, status in (("recorded", "200"), ("refused", "401"), ("failed", "500")):
        labels = {"outcome": outcome, "status": status}
        assert value(after, name, **labels) - value(before, name, **labels) == 1, outcome


def test_it_counts_a_webhook_the_view_failed_to_record(monkeypatch: pytest.MonkeyPatch) -> None:
    # Fault injection: the ledger cannot be written (a database outage), so Django answers 500.
    monkeypatch.setattr(actions, "receive_webhook", fail)
    name, labels = "egress_dashboard_webhooks_total", {"outcome": "failed", "status": "500"}
    timed = "egress_dashboard_webhook_duration_seconds_count"
    before = samples()

    with pytest.raises(RuntimeError, match="database down"):
        deliver("egress_started__no_status")

    after = samples()
    assert value(after, name, **labels) - value(before, name, **labels) == 1
    assert value(after, timed) - value(before, timed) == 1


def fail(*args: object, **kwargs: object) -> NoReturn:
    raise RuntimeError("database down")


# --- LiveKit ------------------------------------------------------------------------------------
def test_it_counts_livekit_calls_by_method_and_twirp_code(sandbox: RunningSandbox) -> None:
    client = get_livekit_client()
    before = samples()

    async_to_sync(client.list_rooms)()
    with pytest.raises(LiveKitError) as caught:
        async_to_sync(client.stop_egress)("EG_nobody_knows")

    after = samples()
    name = "egress_dashboard_livekit_calls_total"
    for method, result in (("ListRooms", "ok"), ("StopEgress", caught.value.code)):
        labels = {"method": method, "result": result}
        assert value(after, name, **labels) - value(before, name, **labels) == 1, method
    assert caught.value.code == "not_found"
    timed = "egress_dashboard_livekit_call_duration_seconds_count"
    assert value(after, timed, method="StopEgress") - value(before, timed, method="StopEgress") == 1


def test_it_counts_an_unreachable_livekit_as_unavailable(closed_port_url: str) -> None:
    unreachable = LiveKitClient(closed_port_url, KEY, SECRET)
    before = samples()

    with pytest.raises(LiveKitError):
        async_to_sync(unreachable.list_egress)()

    labels = {"method": "ListEgress", "result": "unavailable"}
    name = "egress_dashboard_livekit_calls_total"
    assert value(samples(), name, **labels) - value(before, name, **labels) == 1


# --- the reconciler -----------------------------------------------------------------------------
def test_it_counts_worker_runs_and_what_they_did(sandbox: RunningSandbox) -> None:
    request = egress.RoomCompositeEgressRequest(
        room_name="podcast",
        file_outputs=[egress.EncodedFileOutput(filepath="elsewhere/{room_name}.mp4")],
    )
    async_to_sync(get_livekit_client().start_room_composite_egress)(request)
    before = samples()

    call_command("egress_worker", "--once", stdout=io.StringIO())

    after = samples()
    runs = "egress_dashboard_reconciler_runs_total"
    assert value(after, runs, result="ok") - value(before, runs, result="ok") == 1
    adopted = "egress_dashboard_reconciler_adopted_jobs_total"
    assert value(after, adopted) - value(before, adopted) == 1
    last = "egress_dashboard_reconciler_last_run_timestamp_seconds"
    assert value(after, last) > value(before, last)


def test_it_has_a_counter_for_every_count_of_a_run() -> None:
    assert set(metrics.RECONCILER_DID) == {field.name for field in fields(Run)} - {"errors"}


def test_it_counts_a_run_that_could_not_read_livekit_as_an_error(
    settings: Settings, closed_port_url: str
) -> None:
    settings.LIVEKIT_URL = closed_port_url
    before = samples()

    call_command("egress_worker", "--once", stdout=io.StringIO())

    runs = "egress_dashboard_reconciler_runs_total"
    assert value(samples(), runs, result="error") - value(before, runs, result="error") == 1


# --- several processes --------------------------------------------------------------------------
RECORD = """
import time
from egress_app import metrics
metrics.webhook_answered("recorded", 200, time.perf_counter())
metrics.livekit_called("ListEgress", "unavailable", time.perf_counter())
"""


def test_it_adds_up_every_process_in_multiprocess_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # prometheus_client picks file-backed values on import: the recording processes get the
    # directory before they start, as web workers and the worker command do in production.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    for _ in range(2):
        subprocess.run([sys.executable, "-c", RECORD], check=True, env=os.environ.copy())
    job(EgressStatus.ACTIVE, EgressKind.WEB)

    found = samples()

    assert value(found, "egress_dashboard_webhooks_total", outcome="recorded", status="200") == 2
    labels = {"method": "ListEgress", "result": "unavailable"}
    assert value(found, "egress_dashboard_livekit_calls_total", **labels) == 2
    assert value(found, "egress_dashboard_webhook_duration_seconds_count") == 2
    # The job counts come from the database in this mode too.
    jobs = {"status": "EGRESS_ACTIVE", "launch_state": "launched", "kind": "web"}
    assert value(found, "egress_dashboard_jobs", **jobs) == 1
