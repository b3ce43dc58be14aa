"""Room rules start egress with no one at the dashboard, against the sandbox over real HTTP.

Rooms created by someone else (through LiveKit's official SDK) are caught by their room_started
webhook, or by the reconciler's pass when webhooks are missing; each rule starts once per room
session (its claim), whatever retries, passes or processes come after. Rooms the dashboard
creates carry the rule as LiveKit's own auto egress: the sandbox starts it and its webhooks
bring it back as an external job linked to the rule.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from google.protobuf import json_format
from livekit import api
from livekit.protocol import webhook
from pytest_django.live_server_helper import LiveServer

from egress_app.actions import room_rules
from egress_app.actions.reconcile import reconcile
from egress_app.models import AuditEntry, AuditTarget, EgressJob, LaunchState, RoomRuleStart
from egress_app.sandbox.testing import RunningSandbox
from tests.live import body_of, post, sign, skip_concurrent_webhooks_on_sqlite
from tests.rules import make_recipe, make_rule


async def _create_elsewhere(sandbox: RunningSandbox, name: str) -> api.Room:
    """Someone else's app creates the room (LiveKit's official SDK, no dashboard involved)."""
    async with api.LiveKitAPI(sandbox.url, sandbox.api_key, sandbox.api_secret) as lkapi:
        return await lkapi.room.create_room(api.CreateRoomRequest(name=name))


create_elsewhere = async_to_sync(_create_elsewhere)


def _room_started(room: api.Room, event_id: str) -> str:
    message = webhook.WebhookEvent(event="room_started", id=event_id, room=room)
    message.created_at = int(time.time())
    return body_of(json_format.MessageToDict(message))


@pytest.fixture
def webhooks_to_the_dashboard(sandbox: RunningSandbox, live_server: LiveServer) -> Iterator[None]:
    skip_concurrent_webhooks_on_sqlite()
    sandbox.control.set_webhook_urls([live_server.url + reverse("egress-webhook")])
    yield
    room_rules.wait_for_starts()
    sandbox.control.reset(webhook_urls=[])


# live_server needs real transactions; serialized rollback restores the roles the flush wipes.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("webhooks_to_the_dashboard")
def test_it_records_a_room_someone_else_creates_once(admin: User, sandbox: RunningSandbox) -> None:
    rule = make_rule(admin, make_recipe(admin))

    room = create_elsewhere(sandbox, "webinar-7")

    delivered = sandbox.control.wait_for_delivery("room_started")
    assert (delivered.delivered, delivered.status_code) == (True, 200)
    # Answered once its transaction committed, which is when the rule's start set off.
    room_rules.wait_for_starts()
    job = EgressJob.objects.get(room_rule=rule)
    assert (job.room_name, job.external, job.launch_state) == ("webinar-7", False, "launched")
    assert job.config["room_name"] == "webinar-7"
    claim = RoomRuleStart.objects.get()
    assert (claim.room_sid, claim.job, claim.native) == (room.sid, job, False)
    egresses = [i for i in sandbox.control.egresses() if i.room_name == "webinar-7"]
    assert [i.egress_id for i in egresses] == [job.egress_id]

    # A retried room_started (same id: a duplicate; another id: another node's) and a
    # reconciler pass start nothing more.
    for event_id in (delivered.event_id, "EV_otherNode0001"):
        body = _room_started(room, event_id)
        assert post(body, sign(body)).status_code == 200
    room_rules.wait_for_starts()
    assert reconcile().ruled == 0
    assert EgressJob.objects.filter(external=False).count() == 1
    assert len([i for i in sandbox.control.egresses() if i.room_name == "webinar-7"]) == 1


@pytest.mark.django_db
def test_it_catches_a_room_whose_webhook_never_came(admin: User, sandbox: RunningSandbox) -> None:
    rule = make_rule(admin, make_recipe(admin))
    create_elsewhere(sandbox, "webinar-8")  # no webhook URL: nothing reaches the dashboard

    first, second = reconcile(), reconcile()

    assert (first.ruled, second.ruled) == (1, 0)
    job = EgressJob.objects.get(room_rule=rule)
    assert (job.room_name, job.launch_state) == ("webinar-8", LaunchState.LAUNCHED)
    assert [i.room_name for i in sandbox.control.egresses()] == ["webinar-8"]
    entry = AuditEntry.objects.get(target_type=AuditTarget.ROOM_RULE, action="started")
    assert (entry.actor_name, entry.target_id) == ("system", rule.pk)
    assert entry.outcome.startswith(f"job {job.pk} in webinar-8 (room session RM_")


@pytest.mark.django_db
def test_it_resumes_a_claim_whose_start_was_lost(admin: User, sandbox: RunningSandbox) -> None:
    rule = make_rule(admin, make_recipe(admin))
    room = create_elsewhere(sandbox, "webinar-12")
    # A process claimed the room session, then stopped before its Start.
    claim = RoomRuleStart.objects.create(rule=rule, room_sid=room.sid, room_name=room.name)
    RoomRuleStart.objects.filter(pk=claim.pk).update(
        created_at=timezone.now() - room_rules.RESUME_AFTER - timedelta(seconds=1)
    )

    assert (reconcile().ruled, reconcile().ruled) == (1, 0)
    claim.refresh_from_db()
    assert claim.job == EgressJob.objects.get(room_rule=rule)
    assert str(claim.job.launch_token) == str(claim.launch_token)
    assert len(sandbox.control.egresses()) == 1


@pytest.mark.django_db
def test_it_leaves_rooms_that_started_before_the_rule_and_other_names(
    admin: User, sandbox: RunningSandbox
) -> None:
    create_elsewhere(sandbox, "webinar-old")
    time.sleep(1.6)  # beyond the clock slack: the room is older than the rule
    make_rule(admin, make_recipe(admin))
    create_elsewhere(sandbox, "standup-3")

    assert reconcile().ruled == 0
    assert not EgressJob.objects.exists()


@pytest.mark.django_db
def test_it_starts_nothing_for_a_disabled_rule(admin: User, sandbox: RunningSandbox) -> None:
    make_rule(admin, make_recipe(admin), enabled=False)
    create_elsewhere(sandbox, "webinar-9")
    assert reconcile().ruled == 0
    assert not EgressJob.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_starts_once_when_two_workers_claim_the_same_room_at_once(
    admin: User, sandbox: RunningSandbox
) -> None:
    rule = make_rule(admin, make_recipe(admin))
    room = create_elsewhere(sandbox, "webinar-10")
    barrier = threading.Barrier(4)
    started: list[object] = []

    def worker() -> None:
        barrier.wait()
        try:
            started.append(room_rules.start_rule(rule, room.name, room.sid))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    assert len([job for job in started if job is not None]) == 1
    assert RoomRuleStart.objects.count() == 1
    assert EgressJob.objects.count() == 1
    assert len(sandbox.control.egresses()) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("webhooks_to_the_dashboard")
def test_it_creates_a_room_with_livekits_own_auto_egress(
    client, producer: User, admin: User, sandbox: RunningSandbox
) -> None:
    rule = make_rule(admin, make_recipe(admin), each_participant=True)
    client.force_login(producer)

    response = client.post(reverse("dashboard-room-create"), {"name": "webinar-11"})

    assert response.status_code == 302
    [composite] = [i for i in sandbox.control.egresses() if i.room_name == "webinar-11"]
    assert composite.room_composite.room_name == "webinar-11"
    assert composite.room_composite.file_outputs[0].s3.bucket  # the recipe's storage
    claim = RoomRuleStart.objects.get()
    assert (claim.native, claim.room_sid) == (True, composite.room_id)
    # LiveKit's egress_started webhook brings it back as an external job linked to the rule...
    sandbox.control.wait_for_delivery("egress_started", egress_id=composite.egress_id)
    job = EgressJob.objects.get(egress_id=composite.egress_id)
    assert (job.external, job.room_rule) == (True, rule)
    # ...and its room_started webhook starts nothing more.
    sandbox.control.wait_for_delivery("room_started")
    room_rules.wait_for_starts()
    assert RoomRuleStart.objects.count() == 1
    assert not EgressJob.objects.filter(external=False).exists()
    # Each participant's egress starts at their first published track.
    sandbox.control.add_participant("webinar-11", "host", tracks=("camera",))
    [by_host] = [i for i in sandbox.control.egresses() if i.participant.identity == "host"]
    sandbox.control.wait_for_delivery("egress_started", egress_id=by_host.egress_id)
    assert EgressJob.objects.get(egress_id=by_host.egress_id).room_rule == rule
    page = client.get(reverse("dashboard-job-detail", args=[job.pk])).content.decode()
    assert "room rule webinar-*" in page


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_answers_room_started_before_a_slow_start_returns(
    admin: User, sandbox: RunningSandbox
) -> None:
    """The sandbox answers a Start in a `slow-` room after `slow_start` (2 s here): the webhook
    is answered at once, the Start goes on after its commit."""
    rule = make_rule(admin, make_recipe(admin), pattern="slow-*")
    room = create_elsewhere(sandbox, "slow-show")
    body = _room_started(room, "EV_slowRoomStart1")

    began = time.monotonic()
    response = post(body, sign(body))
    answered = time.monotonic() - began

    assert response.status_code == 200
    assert answered < 1.0
    room_rules.wait_for_starts(timeout=15)
    job = EgressJob.objects.get(room_rule=rule)
    assert (job.room_name, job.launch_state) == ("slow-show", LaunchState.LAUNCHED)
