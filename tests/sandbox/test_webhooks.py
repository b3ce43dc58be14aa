"""Signed webhooks: headers, signatures verified by the official SDK, order, retries and drops."""

from __future__ import annotations

import json
import socket

import jwt
from livekit import api

from egress_app.sandbox.testing import RunningSandbox
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


async def test_it_sends_egress_events_to_per_request_webhooks(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox, webhook_server: WebhookInbox
) -> None:
    webhook_server.received.clear()
    extra = api.WebhookConfig(url=webhook_server.url + "?extra=1")
    foreign = api.WebhookConfig(url=webhook_server.url + "?foreign=1", signing_key="other-key")

    await lkapi.egress.start_room_composite_egress(
        api.RoomCompositeEgressRequest(
            room_name="town-hall", file_outputs=FILE, webhooks=[extra, foreign]
        )
    )
    webhook_server.wait_for(1)

    eventually(lambda: any(not d.delivered for d in sandbox.control.webhook_deliveries))
    deliveries = sandbox.control.webhook_deliveries
    assert any(d.url.endswith("?extra=1") and d.delivered for d in deliveries)
    refused = next(d for d in deliveries if d.url.endswith("?foreign=1"))
    assert refused.error == "no secret for provided signing key"
    assert refused.attempts == 0
