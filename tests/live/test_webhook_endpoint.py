"""`POST /livekit/webhook` as the ASGI server answers it: ahead of Django's middleware
(egress_app.webhooks.WebhookEndpoint), with the same answers as the Django view."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from pytest_django.fixtures import Settings

from egress_app.models import EgressJob, EgressStatus, LedgerEntry, LedgerOutcome
from egress_app.webhooks import WebhookEndpoint
from tests.live import KEY, SECRET, body_of, event, sign

# The endpoint answers in a thread of its own: it needs committed rows to see (and leaves them).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
SENDER = "198.51.100.4"
T0 = 1763700001000000000  # the fixtures' updatedAt


@pytest.fixture(autouse=True)
def credentials(settings: Settings) -> None:
    settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET = KEY, SECRET


def request(
    method: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> httpx.Response:
    from dashboard.asgi import application

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=application, client=(SENDER, 4321))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.request(method, "/livekit/webhook", content=body, headers=headers)

    return asyncio.run(send())


def post(body: bytes, headers: dict[str, str]) -> httpx.Response:
    return request("POST", body, headers)


def signed(payload: dict[str, Any]) -> httpx.Response:
    body = body_of(payload)
    return post(body.encode(), {"Authorization": sign(body)})


def send_all(payloads: list[dict[str, Any]]) -> list[httpx.Response]:
    """Each payload signed and posted at once, all in flight together: the answers in order."""
    from dashboard.asgi import application

    async def send() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=application, client=(SENDER, 4321))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            bodies = [body_of(payload) for payload in payloads]
            return await asyncio.gather(
                *(
                    client.post(
                        "/livekit/webhook", content=body, headers={"Authorization": sign(body)}
                    )
                    for body in bodies
                )
            )

    return asyncio.run(send())


def test_it_applies_a_signed_webhook() -> None:
    response = signed(event("egress_started__no_status"))

    assert (response.status_code, response.text) == (200, "ok")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    job = EgressJob.objects.get()
    assert (job.status, job.external) == (EgressStatus.STARTING, True)
    assert LedgerEntry.objects.get().outcome == LedgerOutcome.APPLIED


def test_it_acknowledges_a_duplicate() -> None:
    payload = event("egress_started__no_status")
    signed(payload)

    response = signed(payload)

    assert (response.status_code, response.text) == (200, "duplicate")
    assert LedgerEntry.objects.count() == 1


def test_it_refuses_a_bad_signature_and_records_who_sent_it() -> None:
    body = body_of(event("egress_started__no_status"))

    response = post(body.encode(), {"Authorization": sign(body, secret="not-the-secret")})

    assert (response.status_code, response.text) == (401, "invalid signature")
    entry = LedgerEntry.objects.get()
    assert (entry.outcome, entry.reason, entry.remote_addr) == (
        LedgerOutcome.REFUSED,
        "invalid signature",
        SENDER,
    )
    assert (entry.size, entry.payload) == (len(body), {})
    assert not EgressJob.objects.exists()


def test_it_refuses_a_body_over_the_limit_without_reading_it(settings: Settings) -> None:
    settings.WEBHOOK_MAX_BYTES = 100
    reads: list[int] = []
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:  # the body LiveKit would stream
        reads.append(1)
        return {"type": "http.request", "body": b"x" * 1000, "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    async def django(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("a webhook never reaches Django's middleware")

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/livekit/webhook",
        "headers": [(b"content-length", b"1000"), (b"authorization", b"x")],
        "client": (SENDER, 4321),
    }
    asyncio.run(WebhookEndpoint(django)(scope, receive, send))

    assert reads == []  # refused on its declared length, before a byte was read
    assert (sent[0]["status"], sent[1]["body"]) == (413, b"body larger than 100 bytes")
    entry = LedgerEntry.objects.get()
    assert (entry.outcome, entry.size, entry.remote_addr) == (LedgerOutcome.REFUSED, 1000, SENDER)
    assert not EgressJob.objects.exists()


def test_it_refuses_a_body_over_the_limit_through_the_asgi_application(settings: Settings) -> None:
    settings.WEBHOOK_MAX_BYTES = 100
    body = body_of(event("egress_started__no_status"))

    response = post(body.encode(), {"Authorization": sign(body)})

    assert (response.status_code, response.text) == (413, "body larger than 100 bytes")
    assert LedgerEntry.objects.get().outcome == LedgerOutcome.REFUSED


def test_it_leaves_every_other_request_to_django() -> None:
    response = request("GET")

    assert response.status_code == 405  # Django's view: POST only
    assert not LedgerEntry.objects.exists()


def test_it_answers_webhooks_that_arrive_at_once_each_as_one_at_a_time() -> None:
    def updated(n: int) -> dict[str, Any]:
        payload = event("egress_updated__active", id=f"EV_atOnce{n:03}")
        info = payload["egressInfo"] | {
            "updatedAt": str(1763700001000000000 + n),
            "details": f"#{n}",
        }
        return payload | {"egressInfo": info}

    payloads = [updated(n) for n in range(1, 31)] + [updated(7), updated(30)]  # two sent twice

    responses = send_all(payloads)

    assert [(r.status_code, r.text) for r in responses] == [(200, "ok")] * 30 + [
        (200, "duplicate")
    ] * 2
    job = EgressJob.objects.get()  # an external job: no launch made it
    assert (job.status, job.details) == (EgressStatus.ACTIVE, "#30")
    assert LedgerEntry.objects.count() == 30


def test_it_refuses_each_webhook_it_cannot_store_alone_and_lands_all_the_others() -> None:
    def updated(n: int, **info: object) -> dict[str, Any]:
        payload = event("egress_updated__active", id=f"EV_mixed{n:03}")
        return payload | {"egressInfo": payload["egressInfo"] | {"updatedAt": str(T0 + n)} | info}

    good = [updated(n, details=f"#{n}") for n in range(1, 151)]
    good[40]["egressInfo"] |= {"roomName": "room-" + "x" * 300}  # longer than LiveKit's default
    good[80]["egressInfo"] |= {"status": 7}  # a status a newer LiveKit sends
    bad = {
        "egress id longer than 64 characters": updated(900, egressId="EG_" + "x" * 62),
        "event id longer than 128 characters": updated(901) | {"id": "EV_" + "x" * 126},
        "event type longer than 40 characters": updated(902) | {"event": "egress_" + "y" * 34},
    }
    payloads = good[:75] + list(bad.values()) + good[75:]

    responses = [(r.status_code, r.text) for r in send_all(payloads)]

    assert responses[75:78] == [(422, reason) for reason in bad]
    assert responses[:75] + responses[78:] == [(200, "ok")] * 150
    landed = LedgerEntry.objects.exclude(outcome=LedgerOutcome.REFUSED)
    assert set(landed.values_list("event_id", flat=True)) == {p["id"] for p in good}
    refused = LedgerEntry.objects.filter(outcome=LedgerOutcome.REFUSED)
    assert sorted(refused.values_list("reason", "remote_addr", "payload")) == sorted(
        (reason, SENDER, {}) for reason in bad
    )
    job = EgressJob.objects.get()  # the refused egress id made no job
    assert (job.details, job.status_label) == ("#150", "Active")
