"""LiveKit's webhooks through the real endpoint: refusals recorded (never their body), duplicates
ignored, egress state folded in monotonically, egress started elsewhere kept as external jobs,
early webhooks kept pending until their launch learns the egress id, room events noted, and no
secret in the ledger."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import OperationalError, connection, transaction
from django.test import Client
from django.urls import reverse
from google.protobuf import json_format
from livekit.api import AccessToken
from livekit.protocol import egress, ingress, webhook
from pytest_django.fixtures import Settings
from pytest_django.live_server_helper import LiveServer

from egress_app import actions
from egress_app.models import (
    EgressJob,
    EgressStatus,
    LaunchState,
    LedgerEntry,
    LedgerSource,
)
from egress_app.sandbox.testing import RunningSandbox
from tests.jobs import file_config, make_profile, start, stop_in_livekit
from tests.live import (
    KEY,
    SECRET,
    SENDER,
    body_of,
    database_text,
    deliver,
    event,
    post,
    sign,
    skip_concurrent_webhooks_on_sqlite,
)

pytestmark = pytest.mark.django_db

RECORDING = "EG_fxRecording01"  # the egress of the egress_started/updated/ended fixtures


@pytest.fixture(autouse=True)
def credentials(settings: Settings) -> None:
    settings.LIVEKIT_API_KEY = KEY
    settings.LIVEKIT_API_SECRET = SECRET


def dashboard_job(egress_id: str = RECORDING, **fields: Any) -> EgressJob:
    fields.setdefault("status", EgressStatus.ACTIVE)
    return EgressJob.objects.create(
        egress_id=egress_id, kind="room_composite", room_name="town-hall", **fields
    )


def only_entry() -> LedgerEntry:
    [entry] = LedgerEntry.objects.all()
    return entry


# --- refusals -----------------------------------------------------------------------------------
ENDED = body_of(event("egress_ended__complete", id="EV_refusedBody01"))
# Built lazily: signing at import time would run outside the tests' warning filters.
REFUSALS: dict[str, Callable[[], tuple[str, str | None]]] = {
    "missing Authorization header": lambda: (ENDED, None),
    "wrong issuer": lambda: (ENDED, AccessToken("otherkey", SECRET).with_sha256("x").to_jwt()),
    "invalid signature": lambda: (ENDED, sign(ENDED, secret="not-the-secret")),
    "token expired": lambda: (ENDED, sign(ENDED, minutes=-5)),
    "body does not match sha256 claim": lambda: (ENDED.replace("COMPLETE", "FAILED"), sign(ENDED)),
    "malformed event body": lambda: ("{not json", sign("{not json")),
}


@pytest.mark.parametrize("reason", REFUSALS)
def test_it_refuses_a_bad_webhook_records_why_and_applies_nothing(reason: str) -> None:
    job = dashboard_job()
    body, authorization = REFUSALS[reason]()

    response = post(body, authorization)

    assert (response.status_code, response.content.decode()) == (401, reason)
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    entry = only_entry()
    assert (entry.source, entry.outcome, entry.reason) == ("webhook", "refused", reason)
    assert (entry.remote_addr, entry.size) == (SENDER, len(body.encode()))
    assert (entry.event_id, entry.event, entry.egress_id, entry.payload) == (None, "", "", {})
    assert list(EgressJob.objects.all()) == [job]
    job.refresh_from_db()
    assert (job.status, job.info) == (EgressStatus.ACTIVE, {})
    assert "EV_refusedBody01" not in database_text()


def test_it_refuses_a_body_over_the_limit(settings: Settings) -> None:
    settings.WEBHOOK_MAX_BYTES = 100
    job = dashboard_job()

    response = post(ENDED, sign(ENDED))

    assert (response.status_code, response.content.decode()) == (413, "body larger than 100 bytes")
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    entry = only_entry()
    assert (entry.outcome, entry.reason) == ("refused", "body larger than 100 bytes")
    assert (entry.remote_addr, entry.size, entry.payload) == (SENDER, len(ENDED), {})
    job.refresh_from_db()
    assert job.status == EgressStatus.ACTIVE
    assert "EV_refusedBody01" not in database_text()


def test_it_refuses_a_webhook_it_cannot_store_with_422_and_records_why() -> None:
    job = dashboard_job()
    payload = event("egress_ended__complete")
    payload["egressInfo"] |= {"egressId": "EG_" + "x" * 62}  # not an id LiveKit makes
    body = body_of(payload)

    response = post(body, sign(body))

    reason = "egress id longer than 64 characters"
    assert (response.status_code, response.content.decode()) == (422, reason)
    entry = only_entry()
    assert (entry.outcome, entry.reason, entry.remote_addr) == ("refused", reason, SENDER)
    assert (entry.size, entry.event_id, entry.payload) == (len(body), None, {})
    assert list(EgressJob.objects.all()) == [job]


def test_it_answers_500_while_the_database_can_take_nothing() -> None:
    def down(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        raise OperationalError("server closed the connection unexpectedly")

    with connection.execute_wrapper(down), pytest.raises(OperationalError):
        deliver("egress_ended__complete")  # Django answers 500: LiveKit sends it again

    assert not LedgerEntry.objects.exists()


# --- acknowledged -------------------------------------------------------------------------------
def test_it_acknowledges_a_duplicate_and_ignores_it() -> None:
    assert deliver("egress_started__no_status").content == b"ok"

    response = deliver("egress_started__no_status")

    assert (response.status_code, response.content) == (200, b"duplicate")
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert LedgerEntry.objects.get().event_id == "EV_fxStarted0001"
    assert EgressJob.objects.count() == 1


# --- egress state -------------------------------------------------------------------------------
def test_it_reads_an_egress_started_without_status_as_starting() -> None:
    payload = event("egress_started__no_status")
    assert "status" not in payload["egressInfo"]  # EGRESS_STARTING is the default: omitted
    job = dashboard_job(status="", launch_state=LaunchState.LAUNCHED)

    deliver(payload)

    job.refresh_from_db()
    assert job.status == EgressStatus.STARTING
    entry = only_entry()
    assert (entry.outcome, entry.status, entry.job) == ("applied", EgressStatus.STARTING, job)
    assert entry.updated_at_ns == int(payload["egressInfo"]["updatedAt"])


def test_it_follows_an_egress_to_its_end_through_webhooks() -> None:
    job = dashboard_job(status=EgressStatus.STARTING)

    for name in ("egress_started__no_status", "egress_updated__active", "egress_ended__complete"):
        assert deliver(name).content == b"ok"

    job.refresh_from_db()
    assert (job.status, job.details) == (EgressStatus.COMPLETE, "End reason: StopEgress API")
    assert job.results["files"][0]["size"] == 1_234_567
    outcomes = LedgerEntry.objects.order_by("pk").values_list("status", "outcome")
    assert list(outcomes) == [
        (EgressStatus.STARTING, "applied"),
        (EgressStatus.ACTIVE, "applied"),
        (EgressStatus.COMPLETE, "applied"),
    ]


def test_it_never_moves_an_ended_egress_back_to_active() -> None:
    job = dashboard_job()
    deliver("egress_ended__complete")

    response = deliver("egress_updated__active")  # sent first, delivered last

    assert response.content == b"ok"
    job.refresh_from_db()
    assert job.status == EgressStatus.COMPLETE
    late = LedgerEntry.objects.get(event="egress_updated")
    assert (late.outcome, late.status, late.job) == ("stale", EgressStatus.ACTIVE, job)


def test_it_keeps_a_status_livekit_does_not_define_and_shows_it_as_unknown(
    support: User, client: Client
) -> None:
    job = dashboard_job()
    payload = event("egress_updated__active")
    stream = {"url": "rtmp://live.example.com/app/{abc...xyz}", "status": 9}
    payload["egressInfo"] |= {"status": 7, "streamResults": [stream]}  # a newer LiveKit's

    response = deliver(payload)

    assert (response.status_code, response.content) == (200, b"ok")
    job.refresh_from_db()
    assert (job.status, job.status_label) == ("7", "unknown (7)")
    assert job.results["streams"][0]["status"] == "9"
    entry = only_entry()
    assert (entry.outcome, entry.status, entry.status_label) == ("applied", "7", "unknown (7)")
    client.force_login(support)
    response = client.get(reverse("dashboard-job-detail", args=[job.pk]))
    assert response.status_code == 200, response
    page = response.content.decode()
    assert page.count("unknown (7)") == 2  # the job's badge and its ledger entry


def test_it_keeps_an_egress_it_did_not_start_as_an_external_job() -> None:
    deliver("egress_ended__failed")

    job = EgressJob.objects.get()
    assert (job.external, job.egress_id, job.kind) == (True, "EG_fxParticipant", "participant")
    assert (job.room_name, job.status, job.started_by) == ("studio-b", EgressStatus.FAILED, None)
    assert (job.error, job.error_code) == ("recording ended early: connection to room failed", 503)
    entry = only_entry()
    assert (entry.outcome, entry.job, entry.room_name) == ("applied", job, "studio-b")
    assert "outside the dashboard" in entry.reason


def test_it_keeps_an_egress_that_ended_without_an_egress_id() -> None:
    deliver("egress_ended__no_egress_id")

    job = EgressJob.objects.get()
    assert (job.external, job.egress_id, job.status) == (True, None, EgressStatus.FAILED)
    assert job.error == "could not start the auto egress: no egress worker available"
    assert (job.room_name, job.error_code) == ("town-hall", 503)
    entry = only_entry()
    assert (entry.outcome, entry.job, entry.egress_id) == ("applied", job, "")
    assert "without an egress id" in entry.reason


# --- a webhook before the launch learns its egress id -------------------------------------------
def launching_job(user: User) -> EgressJob:
    return EgressJob.objects.create(
        kind="room_composite",
        room_name="town-hall",
        launch_state=LaunchState.LAUNCHING,
        status="",
        started_by=user,
    )


def test_it_keeps_an_early_webhook_pending_until_its_launch_knows_the_egress(
    producer: User,
) -> None:
    job = launching_job(producer)

    deliver("egress_updated__active")

    entry = only_entry()
    assert (entry.outcome, entry.job, entry.egress_id) == ("pending", None, RECORDING)
    assert EgressJob.objects.get() == job  # no external job for a launch's own egress
    job.egress_id, job.launch_state = RECORDING, LaunchState.LAUNCHED
    job.save()

    job = actions.apply_pending(job)

    assert EgressJob.objects.get().status == EgressStatus.ACTIVE
    entry.refresh_from_db()
    assert (entry.outcome, entry.job) == ("applied", job)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_launch_adopting_its_egress_while_an_early_webhook_commits_folds_that_webhook_in(
    producer: User,
) -> None:
    if connection.vendor == "sqlite":
        pytest.skip("SQLite lets one writer at a time: the two cannot overlap there")
    job = launching_job(producer)
    early = json_format.ParseDict(event("egress_updated__active"), webhook.WebhookEvent())
    kept_pending, committed = threading.Event(), threading.Event()

    def webhook_batch() -> None:
        # The batch keeps the webhook pending, then is slow to commit.
        try:
            with transaction.atomic():
                assert actions.receive_webhooks([(early, 100)]) == [True]
                kept_pending.set()
                time.sleep(0.5)
            committed.set()
        finally:
            connection.close()

    batch = threading.Thread(target=webhook_batch)
    batch.start()
    assert kept_pending.wait(10)
    # LiveKit's answer to the Start call arrives meanwhile: the launch adopts its egress.
    job.egress_id, job.launch_state = RECORDING, LaunchState.LAUNCHED
    job.save()
    assert committed.is_set()  # the launch waited for the batch
    job = actions.apply_pending(job)
    batch.join()

    assert EgressJob.objects.get().status == EgressStatus.ACTIVE
    assert (only_entry().outcome, only_entry().job) == ("applied", job)


def test_it_treats_an_egress_as_external_once_no_launch_is_in_flight(
    producer: User, settings: Settings
) -> None:
    launching_job(producer)
    settings.LIVEKIT_START_TIMEOUT = -10  # the launch gave up waiting long ago

    deliver("egress_updated__active")

    assert EgressJob.objects.get(external=True).egress_id == RECORDING
    assert only_entry().outcome == "applied"


def test_it_settles_a_pending_webhook_once_its_launch_knows_the_egress(producer: User) -> None:
    job = launching_job(producer)
    deliver("egress_updated__active")
    assert actions.settle_pending() == 0  # the launch may still claim it
    # The launch learnt its egress id, but the pending event was written just after it looked.
    EgressJob.objects.filter(pk=job.pk).update(
        egress_id=RECORDING, launch_state=LaunchState.LAUNCHED
    )

    assert actions.settle_pending() == 1

    assert EgressJob.objects.get().status == EgressStatus.ACTIVE
    assert (only_entry().outcome, only_entry().job) == ("applied", job)


def test_it_settles_a_pending_webhook_no_launch_claimed_as_an_external_job(
    producer: User, settings: Settings
) -> None:
    launching_job(producer)
    deliver("egress_updated__active")
    settings.LIVEKIT_START_TIMEOUT = -10  # the launch gave up waiting meanwhile

    assert actions.settle_pending() == 1

    external = EgressJob.objects.get(external=True)
    assert (external.egress_id, external.status) == (RECORDING, EgressStatus.ACTIVE)
    assert (only_entry().outcome, only_entry().job) == ("applied", external)


@pytest.fixture
def webhooks_to_the_dashboard(sandbox: RunningSandbox, live_server: LiveServer) -> Iterator[None]:
    skip_concurrent_webhooks_on_sqlite()
    sandbox.control.set_webhook_urls([live_server.url + reverse("egress-webhook")])
    yield
    # Nothing may write once the test's data is flushed, and the sandbox's kept-alive connections
    # must close while the live server still runs (its threads then close their database).
    sandbox.control.reset(webhook_urls=[])


# live_server needs real transactions; serialized rollback restores the roles the flush wipes.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("webhooks_to_the_dashboard")
def test_it_follows_a_job_through_livekits_own_webhooks(
    producer: User, admin: User, sandbox: RunningSandbox
) -> None:
    job = start(producer, file_config(make_profile(admin)))
    assert job.egress_id
    sandbox.control.wait_for_status(job.egress_id, "ACTIVE")
    stop_in_livekit(job.egress_id)  # behind the dashboard's back: only the webhooks tell it

    ended = sandbox.control.wait_for_delivery("egress_ended", egress_id=job.egress_id)

    assert (ended.delivered, ended.status_code) == (True, 200)
    job.refresh_from_db()
    assert (job.status, job.details) == (EgressStatus.COMPLETE, "End reason: StopEgress API")
    entries = LedgerEntry.objects.filter(source=LedgerSource.WEBHOOK).order_by("pk")
    assert [e.status for e in entries] == [
        EgressStatus.STARTING,
        EgressStatus.ACTIVE,
        EgressStatus.ENDING,
        EgressStatus.COMPLETE,
    ]
    # The first may beat LiveKit's answer to Start (pending, then folded in) or follow it.
    assert {(e.job, e.outcome in ("applied", "noted")) for e in entries} == {(job, True)}
    assert EgressJob.objects.get() == job


# --- room, participant and track events ---------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["room_started__basic", "participant_joined__basic", "track_published__basic"]
)
def test_it_notes_room_events(name: str) -> None:
    payload = event(name)

    assert deliver(payload).content == b"ok"

    entry = only_entry()
    assert (entry.source, entry.outcome) == ("webhook", "noted")
    assert (entry.event, entry.event_id) == (payload["event"], payload["id"])
    assert entry.room_name == "town-hall"
    assert not EgressJob.objects.exists()


# LiveKit allows 256 bytes by default, any length once an operator lifts the limit.
LONG_ROOM = "all-hands-" + "très-long-" * 100


def test_it_keeps_a_room_name_longer_than_livekits_default_limit_whole() -> None:
    started = event("room_started__basic")
    started["room"] |= {"name": LONG_ROOM}
    ended = event("egress_ended__failed")
    ended["egressInfo"] |= {"roomName": LONG_ROOM}

    assert [deliver(started).content, deliver(ended).content] == [b"ok", b"ok"]

    assert [entry.room_name for entry in LedgerEntry.objects.all()] == [LONG_ROOM] * 2
    assert EgressJob.objects.get().room_name == LONG_ROOM


# --- secrets ------------------------------------------------------------------------------------
STREAM_KEY = "SECRET-live-rtmp-key-XYZ123"
S3_ACCESS_KEY = "SECRET-live-accesskey-XYZ123"
S3_SECRET = "SECRET-live-s3-secret-XYZ123-abcdef"
PROXY_PASSWORD = "SECRET-live-proxypass-XYZ123"
SECRETS = [STREAM_KEY, S3_ACCESS_KEY, S3_SECRET, PROXY_PASSWORD]


def leaky_egress_started() -> dict[str, Any]:
    """An egress started elsewhere whose echoed request a LiveKit forgot to redact."""
    upload = egress.S3Upload(access_key=S3_ACCESS_KEY, secret=S3_SECRET, bucket="recordings")
    upload.proxy.password = PROXY_PASSWORD
    request = egress.RoomCompositeEgressRequest(
        room_name="town-hall",
        file_outputs=[egress.EncodedFileOutput(filepath="a.mp4", s3=upload)],
        stream_outputs=[egress.StreamOutput(urls=[f"rtmp://live.example.com/app/{STREAM_KEY}"])],
    )
    info = egress.EgressInfo(
        egress_id="EG_fxLeaky00001",
        room_name="town-hall",
        updated_at=1_763_700_000_000_000_000,
        room_composite=request,
    )
    return protojson(
        webhook.WebhookEvent(event="egress_started", id="EV_fxLeaky00001", egress_info=info)
    )


def protojson(message: webhook.WebhookEvent) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(json_format.MessageToJson(message))
    return payload


def test_it_keeps_no_stream_key_or_storage_secret_in_the_ledger() -> None:
    payload = leaky_egress_started()
    assert STREAM_KEY in body_of(payload)

    assert deliver(payload).content == b"ok"

    stored = json.dumps(only_entry().payload)
    assert "rtmp://live.example.com/app/" in stored
    for secret in SECRETS:
        assert secret not in stored
    job = EgressJob.objects.get()
    assert all(secret not in json.dumps(job.info) for secret in SECRETS)


def test_it_keeps_no_ingress_stream_key_in_the_ledger() -> None:
    info = ingress.IngressInfo(
        ingress_id="IN_fxIngress0001",
        stream_key=STREAM_KEY,
        url="rtmp://ingest.example.com/x",
        room_name="town-hall",
    )

    deliver(
        protojson(webhook.WebhookEvent(event="ingress_started", id="EV_fxIn1", ingress_info=info))
    )

    assert STREAM_KEY not in json.dumps(only_entry().payload)


def test_it_hides_a_stream_key_livekit_quotes_in_an_external_egresss_error() -> None:
    url = f"rtmp://live.example.com/app/{STREAM_KEY}"
    info = egress.EgressInfo(
        egress_id="EG_fxLeaky00002",
        room_name="town-hall",
        status=egress.EGRESS_FAILED,
        updated_at=1_763_700_000_000_000_000,
        error=f"dial {url}: connection refused",
        stream_results=[egress.StreamInfo(url=url, status=egress.StreamInfo.FAILED)],
    )

    deliver(protojson(webhook.WebhookEvent(event="egress_ended", id="EV_fxL2", egress_info=info)))

    job = EgressJob.objects.get()
    assert STREAM_KEY not in json.dumps([only_entry().payload, job.error, job.results, job.info])


def test_a_pending_webhook_hides_the_stream_key_its_job_dialled_once_applied(
    producer: User,
) -> None:
    # LiveKit quotes the dialled URL whole in its error; the pending entry cannot know it is a
    # stream URL until its job (which keeps the URL encrypted) claims it.
    url = f"rtmp://live.example.com/app/{STREAM_KEY}"
    job = launching_job(producer)
    job.set_secrets({"adhoc:0": url})
    job.save()
    info = egress.EgressInfo(
        egress_id=RECORDING,
        room_name="town-hall",
        status=egress.EGRESS_FAILED,
        updated_at=1_763_700_000_000_000_000,
        error=f"could not connect to {url}",
    )
    deliver(protojson(webhook.WebhookEvent(event="egress_ended", id="EV_fxL3", egress_info=info)))
    assert only_entry().outcome == "pending"
    job.egress_id, job.launch_state = RECORDING, LaunchState.LAUNCHED
    job.save()

    actions.apply_pending(job)

    entry = only_entry()
    assert (entry.outcome, entry.job) == ("applied", job)
    assert STREAM_KEY not in json.dumps(entry.payload)
    job.refresh_from_db()
    assert STREAM_KEY not in job.error
