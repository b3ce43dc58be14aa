"""Request webhooks (LIVEKIT_REQUEST_WEBHOOKS): every Start request asks LiveKit to send that
egress's events to the dashboard too, so live status works with the project's webhooks pointed
elsewhere; an event sent both ways is applied once, in either order; a request webhook signed
with another key is refused and recorded; and the API secret is never kept or shown.

The sandbox here has an API secret of its own (distinctive, so any copy of it would show)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import permutations
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from livekit.protocol import egress, models
from pytest_django.fixtures import Settings
from pytest_django.live_server_helper import LiveServer

from egress_app import actions
from egress_app.livekit import get_livekit_client
from egress_app.models import EgressJob, EgressStatus, LedgerEntry, LedgerSource
from egress_app.sandbox.config import Pacing, SandboxConfig
from egress_app.sandbox.testing import SPARE_KEY, SPARE_SECRET, RunningSandbox, running_sandbox
from tests.jobs import file_config, make_profile, new_token, start, stop_in_livekit, stopped
from tests.live import (
    body_of,
    database_text,
    event,
    post,
    sign,
    skip_concurrent_webhooks_on_sqlite,
)
from tests.sandbox.conftest import eventually

KEY, SECRET = "reqhooks-key", "SECRET-reqhooks-api-secret-XYZ123"
ENDED = ["egress_started", "egress_updated", "egress_updated", "egress_ended"]
# live_server needs real transactions; serialized rollback restores the roles the flush wipes.
transactional = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(scope="module")
def own_sandbox() -> Iterator[RunningSandbox]:
    config = SandboxConfig(
        api_key=KEY, api_secret=SECRET, pacing=Pacing.fast(), other_keys={SPARE_KEY: SPARE_SECRET}
    )
    with running_sandbox(config) as running:
        yield running


@pytest.fixture
def livekit(own_sandbox: RunningSandbox, settings: Settings) -> Iterator[RunningSandbox]:
    """The sandbox, reset with no project webhook URL, and the dashboard pointed at it."""
    own_sandbox.control.reset(fixture="demo", pacing=Pacing.fast(), webhook_urls=[])
    settings.LIVEKIT_URL = own_sandbox.url
    settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET = KEY, SECRET
    yield own_sandbox
    # Nothing may write once the test's data is flushed: no webhook left in flight.
    own_sandbox.control.reset(webhook_urls=[])


@pytest.fixture
def request_webhooks(settings: Settings, live_server: LiveServer) -> str:
    """LIVEKIT_REQUEST_WEBHOOKS on, the live server as the dashboard's public address; its
    webhook URL."""
    skip_concurrent_webhooks_on_sqlite()
    settings.LIVEKIT_REQUEST_WEBHOOKS = True
    settings.SITE_ROOT, settings.SITE_ROOT_SET = live_server.url, True
    return live_server.url + reverse("egress-webhook")


def run_to_the_end(livekit: RunningSandbox, job: EgressJob) -> EgressJob:
    """The job once LiveKit, stopped behind the dashboard's back, has sent its egress_ended
    (and the dashboard answered it)."""
    assert job.egress_id
    livekit.control.wait_for_status(job.egress_id, "ACTIVE")
    stop_in_livekit(job.egress_id)
    livekit.control.wait_for_status(job.egress_id, "COMPLETE")
    wait_for_deliveries(livekit, job.egress_id, "egress_ended")
    job.refresh_from_db()
    return job


def wait_for_deliveries(livekit: RunningSandbox, egress_id: str, name: str, count: int = 1) -> None:
    def done() -> bool:
        sent = [d for d in livekit.control.webhook_deliveries if d.egress_id == egress_id]
        return len([d for d in sent if d.event == name]) >= count

    eventually(done, timeout=10)


def webhook_entries() -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(source=LedgerSource.WEBHOOK).order_by("pk"))


# --- the Start requests -------------------------------------------------------------------------
@transactional
def test_it_hears_of_its_egress_through_request_webhooks_alone(
    producer: User, admin: User, livekit: RunningSandbox, request_webhooks: str
) -> None:
    job = start(producer, file_config(make_profile(admin)))
    assert job.egress_id
    eventually(lambda: EgressJob.objects.get(pk=job.pk).status == EgressStatus.ACTIVE)

    job = run_to_the_end(livekit, job)

    assert (job.status, job.details) == (EgressStatus.COMPLETE, "End reason: StopEgress API")
    statuses = [EgressStatus.STARTING, EgressStatus.ACTIVE, EgressStatus.ENDING]
    assert [e.status for e in webhook_entries()] == [*statuses, EgressStatus.COMPLETE]
    deliveries = livekit.control.webhook_deliveries
    assert {(d.url, d.delivered, d.status_code) for d in deliveries} == {
        (request_webhooks, True, 200)
    }
    assert [e.event for e in webhook_entries()] == ENDED
    assert {e.job for e in webhook_entries()} == {job}


@transactional
def test_it_asks_for_its_own_webhook_signed_with_its_key_by_name(
    producer: User, admin: User, livekit: RunningSandbox, request_webhooks: str
) -> None:
    job = start(producer, file_config(make_profile(admin)))

    assert job.egress_id
    received = livekit.control.egress(job.egress_id).room_composite.webhooks
    assert [(w.url, w.signing_key) for w in received] == [(request_webhooks, KEY)]
    run_to_the_end(livekit, job)


@pytest.mark.django_db
def test_it_asks_for_no_webhook_while_the_option_is_off(
    producer: User, admin: User, livekit: RunningSandbox, settings: Settings
) -> None:
    settings.LIVEKIT_REQUEST_WEBHOOKS = False

    job = start(producer, file_config(make_profile(admin)))

    assert job.egress_id
    assert list(livekit.control.egress(job.egress_id).room_composite.webhooks) == []
    assert livekit.control.webhook_deliveries == []


@pytest.mark.django_db
def test_it_asks_for_it_from_every_way_the_dashboard_starts_egress(
    producer: User, admin: User, sandbox: RunningSandbox, settings: Settings, closed_port_url: str
) -> None:
    """A recipe, a Retry and an audio session's taps go through the same Start as the form."""
    settings.LIVEKIT_REQUEST_WEBHOOKS = True
    settings.SITE_ROOT, settings.SITE_ROOT_SET = closed_port_url, True
    settings.AUDIO_INGEST_URL = closed_port_url.replace("http", "ws", 1)  # the taps fail: fine
    recipe = actions.save_recipe(producer, name="Show", config=file_config(make_profile(admin)))

    job = actions.start_recipe(producer, recipe, room_name="town-hall", launch_token=new_token())
    retried = actions.retry_egress(
        producer, stopped(sandbox, producer, job), launch_token=new_token()
    )
    session = actions.start_audio_session(producer, "podcast")

    taps = [tap.job for tap in session.taps.all()]
    assert len(taps) == 2
    for started in [job, retried, *taps]:
        assert started is not None
        assert started.egress_id
        info = sandbox.control.egress(started.egress_id)
        request = getattr(info, info.WhichOneof("request") or "")
        assert [(w.url, w.signing_key) for w in request.webhooks] == [
            (closed_port_url + "/livekit/webhook", sandbox.api_key)
        ]


# --- the same event twice -----------------------------------------------------------------------
@transactional
def test_it_applies_each_event_once_when_both_webhooks_send_it(
    producer: User, admin: User, livekit: RunningSandbox, request_webhooks: str
) -> None:
    livekit.control.set_webhook_urls([request_webhooks])  # the project's webhooks too
    job = start(producer, file_config(make_profile(admin)))

    job = run_to_the_end(livekit, job)
    assert job.egress_id
    wait_for_deliveries(livekit, job.egress_id, "egress_ended", count=2)

    deliveries = livekit.control.webhook_deliveries
    assert len(deliveries) == 8
    assert all(d.delivered and d.status_code == 200 for d in deliveries)
    assert job.status == EgressStatus.COMPLETE
    entries = webhook_entries()
    assert [e.event for e in entries] == ENDED  # one row per event: the second is a duplicate
    assert {e.event_id for e in entries} == {d.event_id for d in deliveries}


def _three_events() -> list[dict[str, Any]]:
    """ACTIVE, ENDING and COMPLETE of one egress, each with its id, as LiveKit sends them."""
    active = event("egress_updated__active", id="EV_active0000001")
    ending = event("egress_updated__active", id="EV_ending0000001")
    ending["egressInfo"] = ending["egressInfo"] | {
        "status": "EGRESS_ENDING",
        "updatedAt": "1763700005000000000",
    }
    return [active, ending, event("egress_ended__complete", id="EV_ended00000001")]


def _interleaved(channels: str) -> list[dict[str, Any]]:
    """Both copies of the three events, the project's ("p") and the request's ("r") each in
    LiveKit's order (one queue per URL), interleaved as `channels` says."""
    queues = {"p": _three_events(), "r": _three_events()}
    return [queues[channel].pop(0) for channel in channels]


RANK = [EgressStatus.STARTING, EgressStatus.ACTIVE, EgressStatus.ENDING, EgressStatus.COMPLETE]


@pytest.mark.django_db
@pytest.mark.parametrize("channels", sorted({"".join(p) for p in permutations("ppprrr")}))
def test_it_applies_an_event_once_and_never_moves_back_in_any_order(
    channels: str, settings: Settings
) -> None:
    settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET = KEY, SECRET
    job = EgressJob.objects.create(
        egress_id="EG_fxRecording01", kind="room_composite", status=EgressStatus.STARTING
    )
    answers, seen = [], []

    for payload in _interleaved(channels):
        body = body_of(payload)
        answers.append(post(body, sign(body, key=KEY, secret=SECRET)).content.decode())
        job.refresh_from_db()
        seen.append(RANK.index(EgressStatus(job.status)))

    assert answers.count("duplicate") == 3
    assert seen == sorted(seen)  # never back
    assert job.status == EgressStatus.COMPLETE
    assert len(webhook_entries()) == 3


@pytest.mark.django_db
def test_it_applies_a_state_once_even_under_two_event_ids(settings: Settings) -> None:
    """Were the two copies to carry different ids (LiveKit's code gives them one), the second
    shows nothing new: noted, not applied again."""
    settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET = KEY, SECRET
    EgressJob.objects.create(
        egress_id="EG_fxRecording01", kind="room_composite", status=EgressStatus.ACTIVE
    )
    for event_id in ("EV_projectCopy01", "EV_requestCopy01"):
        body = body_of(event("egress_ended__complete", id=event_id))
        assert post(body, sign(body, key=KEY, secret=SECRET)).status_code == 200

    assert [e.outcome for e in webhook_entries()] == ["applied", "noted"]


# --- a wrong key --------------------------------------------------------------------------------
@transactional
def test_it_refuses_a_request_webhook_signed_with_another_key_and_records_it(
    livekit: RunningSandbox, request_webhooks: str
) -> None:
    hook = models.WebhookConfig(url=request_webhooks, signing_key=SPARE_KEY)
    request = egress.RoomCompositeEgressRequest(
        room_name="town-hall",
        file_outputs=[egress.EncodedFileOutput(filepath="elsewhere.mp4")],
        webhooks=[hook],
    )
    info = async_to_sync(get_livekit_client().start_room_composite_egress)(request)

    delivery = livekit.control.wait_for_delivery("egress_started", egress_id=info.egress_id)

    assert (delivery.delivered, delivery.status_code, delivery.attempts) == (False, 401, 1)
    [entry] = webhook_entries()
    assert (entry.outcome, entry.reason) == ("refused", "invalid signature")
    assert (entry.event_id, entry.egress_id, entry.payload) == (None, "", {})
    assert not EgressJob.objects.exists()
    # Stopped while still starting, egress aborts it ("Stop called before pipeline could
    # start"): wait until it runs, so that it ends COMPLETE.
    livekit.control.wait_for_status(info.egress_id, "ACTIVE")
    stop_in_livekit(info.egress_id)
    livekit.control.wait_for_status(info.egress_id, "COMPLETE")
    wait_for_deliveries(livekit, info.egress_id, "egress_ended")


# --- no secret ----------------------------------------------------------------------------------
@transactional
def test_it_never_keeps_or_shows_the_api_secret(
    producer: User, admin: User, livekit: RunningSandbox, request_webhooks: str
) -> None:
    job = run_to_the_end(livekit, start(producer, file_config(make_profile(admin))))

    assert job.info["room_composite"]["webhooks"] == [{"url": request_webhooks, "signing_key": KEY}]
    client = Client()
    client.force_login(admin)
    pages = [reverse("dashboard-job-detail", args=[job.pk]), reverse("dashboard-job-list")]
    shown = [client.get(url).content.decode() for url in pages]
    assert [SECRET in text for text in (database_text(), *shown)] == [False] * 3
