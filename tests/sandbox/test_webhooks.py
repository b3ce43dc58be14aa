"""Signed webhooks: headers, signatures verified by the official SDK, order, retries and drops,
and the request webhooks a Start request asks for."""

from __future__ import annotations

import json
import socket

import jwt
import pytest
from livekit import api

from egress_app.sandbox.testing import SPARE_KEY, SPARE_SECRET, RunningSandbox
from tests.sandbox.conftest import WebhookInbox, eventually

FILE = [api.EncodedFileOutput(filepath="w.mp4")]


async def _record_and_stop(lkapi: api.LiveKitAPI, sandbox: RunningSandbox) -> str:
    info = await lkapi.egress.start_room_composite_egress(
        api.RoomCompositeEgressRequest(room_name="town-hall", file_outputs=FILE)
    )
    sandbox.control.wait_for_status(info.egress_id, "ACTIVE")
    await lkapi.egress.stop_egress(api.StopEgressRequest(egress_id=info.egress_id))
    sandbox.control.wait_for_status(info.egress_id, "COMPLETE")
    return info.egress_id


async def test_it_signs_and_orders_egress_webhooks(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox, inbox: WebhookInbox
) -> None:
    egress_id = await _record_and_stop(lkapi, sandbox)
    inbox.wait_for(4)

    events = inbox.events(sandbox)  # raises unless signature and body hash verify
    assert [e.event for e in events] == [
        "egress_started",
        "egress_updated",
        "egress_updated",
        "egress_ended",
    ]
    assert {e.egress_info.egress_id for e in events} == {egress_id}
    assert [api.EgressStatus.Name(e.egress_info.status) for e in events] == [
        "EGRESS_STARTING",
        "EGRESS_ACTIVE",
        "EGRESS_ENDING",
        "EGRESS_COMPLETE",
    ]
    updated = [e.egress_info.updated_at for e in events]
    assert updated == sorted(updated)
    assert all(e.id.startswith("EV_") and 1e9 < e.created_at < 1e11 for e in events)
    assert events[0].room.name == "town-hall"
    assert events[0].room.sid.startswith("RM_")
    assert events[-1].egress_info.details == "End reason: StopEgress API"


async def test_it_sends_livekit_headers_and_protojson(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox, inbox: WebhookInbox
) -> None:
    await lkapi.egress.start_room_composite_egress(
        api.RoomCompositeEgressRequest(room_name="town-hall", file_outputs=FILE)
    )
    inbox.wait_for(1)

    first = inbox.received[0]
    assert first.headers["content-type"] == "application/webhook+json"
    assert first.headers["user-agent"] == "LiveKit"
    assert not first.headers["authorization"].startswith("Bearer")
    claims = jwt.decode(
        first.headers["authorization"], "secret", algorithms=["HS256"], issuer="devkey"
    )
    assert claims["exp"] - claims["nbf"] == 300
    assert "sha256" in claims
    assert "video" not in claims
    body = json.loads(first.body)
    assert body["event"] == "egress_started"
    assert "egressId" in body["egressInfo"]
    assert "createdAt" in body
    assert "status" not in body["egressInfo"]  # EGRESS_STARTING is the default: omitted
    assert isinstance(body["egressInfo"]["startedAt"], str)


def test_it_reports_room_participant_and_track_events(
    sandbox: RunningSandbox, inbox: WebhookInbox
) -> None:
    sandbox.control.add_room("standup")
    dave = sandbox.control.add_participant("standup", "dave", tracks=["microphone"])
    sandbox.control.remove_participant("standup", "dave")
    sandbox.control.delete_room("standup")
    inbox.wait_for(6)

    events = inbox.events(sandbox)
    assert [e.event for e in events] == [
        "room_started",
        "participant_joined",
        "track_published",
        "track_unpublished",
        "participant_left",
        "room_finished",
    ]
    assert events[2].participant.identity == "dave"
    assert events[2].track.sid == dave.tracks[0].sid
    assert all(e.room.name == "standup" for e in events)


async def test_it_retries_5xx_and_keeps_the_order(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox, inbox: WebhookInbox
) -> None:
    inbox.statuses.extend([500, 503, 429])

    egress_id = await _record_and_stop(lkapi, sandbox)
    inbox.wait_for(7)

    events = inbox.events(sandbox)
    assert [e.event for e in events][:4] == ["egress_started"] * 4
    assert [e.event for e in events][4:] == ["egress_updated", "egress_updated", "egress_ended"]
    started = next(d for d in sandbox.control.webhook_deliveries if d.event == "egress_started")
    assert (started.attempts, started.delivered, started.status_code) == (4, True, 200)
    assert started.egress_id == egress_id


def test_it_drops_an_event_after_four_retries(sandbox: RunningSandbox, inbox: WebhookInbox) -> None:
    inbox.statuses.extend([500] * 5)

    sandbox.control.add_room("flaky")
    sandbox.control.add_participant("flaky", "erin", tracks=())
    inbox.wait_for(6)

    dropped = sandbox.control.wait_for_delivery("room_started")
    assert (dropped.attempts, dropped.delivered, dropped.status_code) == (5, False, 500)
    assert dropped.error == "HTTP 500"
    joined = sandbox.control.wait_for_delivery("participant_joined")
    assert joined.delivered
    assert joined.attempts == 1


def test_it_does_not_retry_other_4xx(sandbox: RunningSandbox, inbox: WebhookInbox) -> None:
    inbox.statuses.append(400)

    sandbox.control.add_room("teapot")

    delivery = sandbox.control.wait_for_delivery("room_started")
    assert (delivery.attempts, delivery.delivered, delivery.status_code) == (1, False, 400)


def test_it_retries_connection_errors(sandbox: RunningSandbox) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    sandbox.control.set_webhook_urls([f"http://127.0.0.1:{port}/hook"])

    sandbox.control.add_room("nobody-listens")

    delivery = sandbox.control.wait_for_delivery("room_started")
    assert (delivery.attempts, delivery.delivered, delivery.status_code) == (5, False, None)
    assert "ConnectError" in delivery.error


# --- request webhooks (livekit/protocol webhook/notifier.go DefaultNotifier.QueueNotify) --------
def _verified(inbox: WebhookInbox, query: str, key: str, secret: str) -> list[api.WebhookEvent]:
    """The events sent to `inbox.url + query`, each verified by the SDK with `key`'s secret."""
    receiver = api.WebhookReceiver(api.TokenVerifier(key, secret))
    sent = [r for r in inbox.received if r.headers["x-query"] == query]
    return [receiver.receive(r.body, r.headers["authorization"]) for r in sent]


async def test_it_sends_egress_events_to_per_request_webhooks(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox, inbox: WebhookInbox
) -> None:
    own = api.WebhookConfig(url=inbox.url + "?own=1")  # no key: the server's webhook key
    spare = api.WebhookConfig(url=inbox.url + "?spare=1", signing_key=SPARE_KEY)

    egress_id = await _record_and_stop_with(lkapi, sandbox, [own, spare])
    inbox.wait_for(12)  # four events, each to the project's URL and both request webhooks

    project = _verified(inbox, "", sandbox.api_key, sandbox.api_secret)
    mine = _verified(inbox, "own=1", sandbox.api_key, sandbox.api_secret)
    signed = _verified(inbox, "spare=1", SPARE_KEY, SPARE_SECRET)
    names = ["egress_started", "egress_updated", "egress_updated", "egress_ended"]
    for events in (project, mine, signed):
        assert [e.event for e in events] == names
        assert {e.egress_info.egress_id for e in events} == {egress_id}
    # One event, one id, whichever URL it went to (NotifyEvent sets it once).
    assert [e.id for e in mine] == [e.id for e in project] == [e.id for e in signed]
    assert signed[0].egress_info.room_composite.webhooks[1].signing_key == SPARE_KEY


async def test_it_signs_a_request_webhook_with_the_key_it_names_only(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox, inbox: WebhookInbox
) -> None:
    spare = api.WebhookConfig(url=inbox.url + "?spare=1", signing_key=SPARE_KEY)
    sandbox.control.set_webhook_urls([])

    await lkapi.egress.start_room_composite_egress(
        api.RoomCompositeEgressRequest(room_name="town-hall", file_outputs=FILE, webhooks=[spare])
    )
    inbox.wait_for(1)

    [started] = inbox.received[:1]
    claims = jwt.decode(started.headers["authorization"], options={"verify_signature": False})
    assert claims["iss"] == SPARE_KEY
    assert _verified(inbox, "spare=1", SPARE_KEY, SPARE_SECRET)
    with pytest.raises(jwt.InvalidSignatureError):  # not the server's own key's secret
        _verified(inbox, "spare=1", sandbox.api_key, sandbox.api_secret)


async def test_it_sends_no_request_webhook_after_one_naming_an_unknown_key(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox, inbox: WebhookInbox
) -> None:
    foreign = api.WebhookConfig(url=inbox.url + "?foreign=1", signing_key="other-key")
    later = api.WebhookConfig(url=inbox.url + "?later=1")

    await lkapi.egress.start_room_composite_egress(
        api.RoomCompositeEgressRequest(
            room_name="town-hall", file_outputs=FILE, webhooks=[foreign, later]
        )
    )
    inbox.wait_for(1)

    eventually(lambda: any(not d.delivered for d in sandbox.control.webhook_deliveries))
    deliveries = sandbox.control.webhook_deliveries
    refused = next(d for d in deliveries if d.url.endswith("?foreign=1"))
    assert (refused.error, refused.attempts) == ("no secret for provided signing key", 0)
    assert not any(d.url.endswith("?later=1") for d in deliveries)
    assert {r.headers["x-query"] for r in inbox.received} == {""}  # the project's URL still


async def _record_and_stop_with(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox, webhooks: list[api.WebhookConfig]
) -> str:
    info = await lkapi.egress.start_room_composite_egress(
        api.RoomCompositeEgressRequest(room_name="town-hall", file_outputs=FILE, webhooks=webhooks)
    )
    sandbox.control.wait_for_status(info.egress_id, "ACTIVE")
    await lkapi.egress.stop_egress(api.StopEgressRequest(egress_id=info.egress_id))
    sandbox.control.wait_for_status(info.egress_id, "COMPLETE")
    return info.egress_id
