"""Webhooks received at once are written together (`egress_app.webhooks.Intake`, then
`actions.receive_webhooks`): the same outcomes as one at a time, each job saved and pushed once
with its newest state, and nothing rendered for pages no one has open (`publisher.following`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import threading
import time
import uuid
from collections.abc import Awaitable, Callable

import psycopg.errors
import pytest
from channels.db import database_sync_to_async
from channels.layers import BaseChannelLayer, InMemoryChannelLayer, get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.db import DataError, IntegrityError, InterfaceError, OperationalError, connection
from django.test.utils import CaptureQueriesContext
from livekit.protocol import egress, models, webhook

from dashboard import publisher
from egress_app import actions, events, webhooks
from egress_app.models import EgressJob, EgressKind, EgressStatus, LedgerEntry
from egress_app.webhooks import Intake, Received

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

KNOWN, OTHER = "EG_batchKnown001", "EG_batchOther001"
T0 = time.time_ns()
WAIT = 15  # seconds at most, a bound: a push crosses the channel layer after a commit
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
S = egress.EgressStatus


def hook(event_id: str, egress_id: str, status: egress.EgressStatus, step: int) -> Received:
    """A verified egress webhook (as LiveKit names it for the status) and its body's size."""
    name = {S.EGRESS_STARTING: "egress_started", S.EGRESS_ACTIVE: "egress_updated"}
    info = egress.EgressInfo(
        egress_id=egress_id,
        room_name="town-hall",
        status=status,
        updated_at=T0 + step * 1_000_000,
        details=f"step {step}",
        room_composite=egress.RoomCompositeEgressRequest(room_name="town-hall"),
    )
    event = webhook.WebhookEvent(
        id=event_id, event=name.get(status, "egress_ended"), egress_info=info
    )
    return event, 100


def room_event(event_id: str) -> Received:
    room = models.Room(name="town-hall", sid="RM_batch")
    return webhook.WebhookEvent(id=event_id, event="room_started", room=room), 50


def dashboard_job(egress_id: str = KNOWN) -> EgressJob:
    return EgressJob.objects.create(
        egress_id=egress_id, kind=EgressKind.ROOM_COMPOSITE, room_name="town-hall", status=""
    )


# --- a batch: the outcomes of one at a time -----------------------------------------------------
def test_a_batch_has_the_outcomes_of_its_webhooks_one_at_a_time() -> None:
    job = dashboard_job()
    no_id, _ = hook("EV_7", "", S.EGRESS_FAILED, 3)
    batch = [
        hook("EV_1", KNOWN, S.EGRESS_STARTING, 1),
        hook("EV_2", KNOWN, S.EGRESS_ACTIVE, 2),
        hook("EV_1", KNOWN, S.EGRESS_STARTING, 1),  # LiveKit sent it twice
        hook("EV_3", KNOWN, S.EGRESS_STARTING, 0),  # older than what the job shows
        room_event("EV_4"),
        hook("EV_5", OTHER, S.EGRESS_STARTING, 1),  # an egress started elsewhere
        hook("EV_6", OTHER, S.EGRESS_ACTIVE, 2),
        (no_id, 100),
    ]

    answers = actions.receive_webhooks(batch)

    assert answers == [True, True, False, True, True, True, True, True]
    rows = LedgerEntry.objects.order_by("pk")
    assert [(row.event_id, row.outcome) for row in rows] == [
        ("EV_1", "applied"),
        ("EV_2", "applied"),
        ("EV_3", "stale"),
        ("EV_4", "noted"),
        ("EV_5", "applied"),
        ("EV_6", "applied"),
        ("EV_7", "applied"),
    ]
    job.refresh_from_db()
    assert (job.status, job.details, job.info_updated_ns) == (
        EgressStatus.ACTIVE,
        "step 2",
        T0 + 2_000_000,
    )
    other = EgressJob.objects.get(egress_id=OTHER)
    assert (other.external, other.status, other.details) == (True, EgressStatus.ACTIVE, "step 2")
    assert EgressJob.objects.get(egress_id=None).status == EgressStatus.FAILED
    assert rows.get(event_id="EV_6").job == other


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite lets one writer at a time: another can never write between check and insert",
)
def test_an_id_another_process_records_meanwhile_is_a_duplicate_and_the_rest_still_land() -> None:
    dashboard_job()
    raced = room_event("EV_1")
    batch = [raced, hook("EV_2", KNOWN, S.EGRESS_ACTIVE, 2)]
    other: list[list[bool]] = []

    def another_process() -> None:  # its own connection, committed at once
        try:
            other.append(actions.receive_webhooks([raced]))
        finally:
            connection.close()

    def just_before_the_ledger_insert(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        writes = sql.lstrip().upper().startswith(("INSERT", "COPY"))  # COPY on PostgreSQL
        if not other and writes and "ledgerentry" in sql:
            thread = threading.Thread(target=another_process)
            thread.start()
            thread.join()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(just_before_the_ledger_insert):
        answers = actions.receive_webhooks(batch)

    assert other == [[True]]
    # The batch's insert broke the unique id: it was rolled back and written one at a time.
    assert answers == [False, True]
    assert LedgerEntry.objects.count() == 2
    assert EgressJob.objects.get(egress_id=KNOWN).status == EgressStatus.ACTIVE


# --- a webhook the dashboard cannot store: refused alone -----------------------------------------
def named(received: Received, **changes: object) -> Received:
    """The webhook with fields of its event (`id`, `event`) or egress info (the rest) changed."""
    event, size = received
    event = webhook.WebhookEvent(id=event.id, event=event.event, egress_info=event.egress_info)
    for name, value in changes.items():
        setattr(event if name in ("id", "event") else event.egress_info, name, value)
    return event, size


OVERSIZED = {
    "egress id longer than 64 characters": {"egress_id": "EG_" + "x" * 62},
    "event id longer than 128 characters": {"id": "EV_" + "x" * 126},
    "event type longer than 40 characters": {"event": "egress_" + "x" * 34},
}


@pytest.mark.parametrize("reason", OVERSIZED)
def test_a_webhook_with_an_id_longer_than_livekits_is_refused_alone(reason: str) -> None:
    dashboard_job()
    batch = [
        hook("EV_1", KNOWN, S.EGRESS_STARTING, 1),
        named(hook("EV_2", OTHER, S.EGRESS_ACTIVE, 2), **OVERSIZED[reason]),
        hook("EV_3", KNOWN, S.EGRESS_ACTIVE, 3),
    ]

    answers = actions.receive_webhooks(batch)

    assert answers == [True, actions.Unstorable(reason), True]
    assert list(LedgerEntry.objects.values_list("event_id", flat=True).order_by("pk")) == [
        "EV_1",
        "EV_3",
    ]
    assert EgressJob.objects.get().details == "step 3"  # no job for the refused one


def failing_for(marker: str, error: Exception) -> Callable[..., object]:
    """A wrapper of the database's statements: any statement carrying `marker` raises `error`."""

    def execute(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        if marker in str(params):
            raise error
        return execute(sql, params, many, context)

    return execute


@pytest.mark.parametrize(
    "error",
    [DataError("value too long"), IntegrityError("check failed"), ValueError("cannot read it")],
    ids=lambda error: type(error).__name__,
)
def test_a_webhook_the_database_refuses_is_refused_alone_and_the_rest_of_its_batch_lands(
    error: Exception,
) -> None:
    dashboard_job()
    batch = [hook(f"EV_{n}", KNOWN, S.EGRESS_ACTIVE, n) for n in range(1, 5)]
    batch[2] = named(batch[2], room_name="poison")  # the database refuses it

    with connection.execute_wrapper(failing_for("poison", error)):
        answers = actions.receive_webhooks(batch)

    refused = actions.Unstorable(f"cannot store it ({type(error).__name__})")
    assert answers == [True, True, refused, True]
    ids = LedgerEntry.objects.values_list("event_id", flat=True).order_by("pk")
    assert list(ids) == ["EV_1", "EV_2", "EV_4"]
    assert EgressJob.objects.get().details == "step 4"


def test_a_webhook_over_a_limit_of_the_database_is_refused_alone() -> None:
    dashboard_job()
    batch = [hook("EV_1", KNOWN, S.EGRESS_STARTING, 1), hook("EV_2", KNOWN, S.EGRESS_ACTIVE, 2)]
    batch[0] = named(batch[0], room_name="poison")
    limit = OperationalError("index row size exceeds maximum")
    limit.__cause__ = psycopg.errors.ProgramLimitExceeded()  # SQLSTATE 54000

    with connection.execute_wrapper(failing_for("poison", limit)):
        answers = actions.receive_webhooks(batch)

    assert answers == [actions.Unstorable("cannot store it (OperationalError 54000)"), True]
    assert list(LedgerEntry.objects.values_list("event_id", flat=True)) == ["EV_2"]


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("server closed the connection unexpectedly"),
        OperationalError("deadlock detected"),
        InterfaceError("connection already closed"),
    ],
    ids=["down", "deadlock", "closed"],
)
def test_a_database_that_can_take_nothing_fails_the_batch_rather_than_refusing_it(
    error: Exception,
) -> None:
    dashboard_job()
    if "deadlock" in str(error):
        error.__cause__ = psycopg.errors.DeadlockDetected()  # SQLSTATE 40P01: try again later
    batch = [hook("EV_1", KNOWN, S.EGRESS_STARTING, 1), hook("EV_2", KNOWN, S.EGRESS_ACTIVE, 2)]

    with (
        connection.execute_wrapper(failing_for("EV_", error)),
        pytest.raises(type(error)),
    ):
        actions.receive_webhooks(batch)

    assert not LedgerEntry.objects.exists()  # answered 500: LiveKit sends them again


UNKEPT = {
    "DataError": "town\x00hall",  # PostgreSQL text has no NUL
    # Past a third of a page, no btree index takes a value (the job's room name is indexed).
    "OperationalError 54000": secrets.token_urlsafe(6000),
}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite keeps any text")
@pytest.mark.parametrize("error", UNKEPT)
def test_a_room_name_postgresql_cannot_keep_is_refused_alone(error: str) -> None:
    dashboard_job()
    batch = [hook(f"EV_{n}", KNOWN, S.EGRESS_ACTIVE, n) for n in range(1, 4)]
    batch[2] = named(batch[2], room_name=UNKEPT[error])  # the newest: the job would show it

    answers = actions.receive_webhooks(batch)

    assert answers[:2] == [True, True]
    assert isinstance(answers[2], actions.Unstorable)
    assert answers[2].reason.startswith(f"cannot store it ({error}")
    assert LedgerEntry.objects.count() == 2
    assert EgressJob.objects.get().details == "step 2"


# --- pushes: once per job, only where followed ---------------------------------------------------
def run_with_layer[T](scenario: Callable[[BaseChannelLayer], Awaitable[T]]) -> T:
    layer = get_channel_layer()
    assert layer is not None

    async def main() -> T:
        try:
            return await scenario(layer)
        finally:
            if isinstance(layer, RedisPubSubChannelLayer):
                await layer.flush()  # the next test runs in another event loop

    return asyncio.run(main())


def written(batch: list[Received]) -> list[str]:
    """The batch written, and the SQL statements it ran (pushes included: they run at commit),
    without BEGIN, COMMIT and savepoints; a statement run for many rows once."""
    with CaptureQueriesContext(connection) as queries:
        actions.receive_webhooks(batch)
    control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK")
    # Django logs an executemany as "<rows> times: <sql>".
    sqls = [re.sub(r"^\d+ times: ", "", query["sql"].lstrip()) for query in queries]
    return [sql for sql in sqls if not sql.upper().startswith(control)]


def test_a_batch_writes_only_the_columns_its_webhooks_changed() -> None:
    # An update from LiveKit mostly moves its time, details and info: writing the job's other
    # columns again cost a batch more CPU than anything else it wrote.
    job = dashboard_job()
    actions.receive_webhooks([hook("EV_1", KNOWN, S.EGRESS_STARTING, 1)])
    batch = [hook("EV_2", KNOWN, S.EGRESS_STARTING, 2), hook("EV_3", OTHER, S.EGRESS_ACTIVE, 1)]

    [update] = [sql for sql in written(batch) if sql.startswith("UPDATE")]

    assert set(re.findall(r'"(\w+)" = %s', update)) == {"updated_at", "details", "info", "id"}
    job.refresh_from_db()
    assert (job.status, job.details) == (EgressStatus.STARTING, "step 2")
    assert job.info_updated_ns == T0 + 2_000_000
    other = EgressJob.objects.get(egress_id=OTHER)  # created by the batch: inserted whole
    assert (other.external, other.status, other.details) == (True, EgressStatus.ACTIVE, "step 1")


def test_a_job_changed_several_times_in_a_batch_is_pushed_once_in_its_newest_state() -> None:
    job = dashboard_job()
    batch = [hook(f"EV_{n}", KNOWN, S.EGRESS_ACTIVE, n) for n in range(1, 5)]

    async def scenario(layer: BaseChannelLayer) -> list[str]:
        page = await layer.new_channel()
        await layer.group_add(events.group(events.JOB, job.pk), page)
        await database_sync_to_async(written)(batch)
        frames = [(await asyncio.wait_for(layer.receive(page), WAIT))["html"]]
        with contextlib.suppress(TimeoutError):  # a second push would come within this
            frames.append((await asyncio.wait_for(layer.receive(page), 0.5))["html"])
        return frames

    [frame] = run_with_layer(scenario)
    assert "step 4" in frame
    assert 'id="job-live"' in frame


def test_it_pushes_the_rows_of_a_batchs_jobs_to_an_open_list_in_one_frame() -> None:
    # Each frame costs the server per socket: a batch of 24 webhooks is one frame, not 24.
    dashboard_job(), dashboard_job(OTHER)
    batch = [hook("EV_1", KNOWN, S.EGRESS_ACTIVE, 1), hook("EV_2", OTHER, S.EGRESS_ACTIVE, 1)]

    async def scenario(layer: BaseChannelLayer) -> list[str]:
        job_list = await layer.new_channel()
        await layer.group_add(events.group(events.ALL_JOBS), job_list)
        try:
            await database_sync_to_async(written)(batch)
            frames = [(await asyncio.wait_for(layer.receive(job_list), WAIT))["html"]]
            with contextlib.suppress(TimeoutError):  # a second push would come within this
                frames.append((await asyncio.wait_for(layer.receive(job_list), 0.5))["html"])
            return frames
        finally:  # the next tests have no list open
            await layer.group_discard(events.group(events.ALL_JOBS), job_list)

    [frame] = run_with_layer(scenario)
    assert KNOWN in frame
    assert OTHER in frame
    assert frame.count("<tr ") == 2


def test_nothing_is_read_or_rendered_for_pages_no_one_has_open() -> None:
    dashboard_job()
    batch = [hook("EV_1", KNOWN, S.EGRESS_STARTING, 1), hook("EV_2", KNOWN, S.EGRESS_ACTIVE, 2)]

    async def scenario(layer: BaseChannelLayer) -> list[str]:
        return await database_sync_to_async(written)(batch)

    queries = run_with_layer(scenario)
    # The batch ends with its ledger rows; no page is open, so nothing is read after it.
    assert "ledgerentry" in queries[-1].lower()
    assert queries[-1].upper().startswith(("INSERT", "COPY"))  # COPY on PostgreSQL


def test_a_followed_job_is_read_after_the_batch_to_render_it() -> None:
    job = dashboard_job()
    batch = [hook("EV_1", KNOWN, S.EGRESS_STARTING, 1), hook("EV_2", KNOWN, S.EGRESS_ACTIVE, 2)]

    async def scenario(layer: BaseChannelLayer) -> list[str]:
        page = await layer.new_channel()
        await layer.group_add(events.group(events.JOB, job.pk), page)
        return await database_sync_to_async(written)(batch)

    queries = run_with_layer(scenario)
    writes = ("INSERT", "COPY")  # COPY on PostgreSQL
    inserted = max(n for n, sql in enumerate(queries) if sql.lstrip().upper().startswith(writes))
    assert any("egress_app_egressjob" in sql.lower() for sql in queries[inserted + 1 :])


# --- who follows what ----------------------------------------------------------------------------
def in_memory() -> BaseChannelLayer:
    return InMemoryChannelLayer()


def on_redis() -> BaseChannelLayer:
    return RedisPubSubChannelLayer(hosts=[REDIS_URL], prefix=f"test-{uuid.uuid4().hex[:8]}")


async def eventually(check: Callable[[], Awaitable[bool]]) -> bool:
    """A Redis subscription is sent without waiting for its reply: give it a moment."""
    for _ in range(50):
        if await check():
            return True
        await asyncio.sleep(0.02)
    return False


@pytest.mark.parametrize("make", [in_memory, on_redis], ids=["in memory", "redis pub/sub"])
def test_following_names_the_groups_some_consumer_has_joined(
    make: Callable[[], BaseChannelLayer],
) -> None:
    async def scenario() -> None:
        layer = make()
        names = {"live.jobs-all", "live.job.1"}
        try:
            channel = await layer.new_channel()
            assert await publisher.following(layer, names) == set()
            await layer.group_add("live.job.1", channel)

            async def joined() -> bool:
                return await publisher.following(layer, names) == {"live.job.1"}

            assert await eventually(joined)
            await layer.group_discard("live.job.1", channel)

            async def left() -> bool:
                return await publisher.following(layer, names) == set()

            assert await eventually(left)
        finally:
            await layer.flush()

    asyncio.run(scenario())


def test_following_takes_every_group_as_followed_when_it_cannot_ask() -> None:
    unreachable = RedisPubSubChannelLayer(hosts=["redis://127.0.0.1:1/0"], prefix="test-down")
    names = {"live.jobs-all", "live.home"}

    async def ask(layer: BaseChannelLayer) -> set[str]:
        return await publisher.following(layer, names)

    assert asyncio.run(ask(unreachable)) == names
    assert asyncio.run(ask(BaseChannelLayer())) == names  # a layer it does not know


# --- the intake: what arrives at once is one batch ----------------------------------------------
def test_the_intake_writes_webhooks_that_arrive_while_a_batch_is_written_as_the_next_batch() -> (
    None
):
    dashboard_job()
    batches: list[list[str]] = []
    first_started = threading.Event()

    def write(received: list[Received]) -> list[bool]:
        batches.append([event.id for event, _ in received])
        first_started.set()
        time.sleep(0.2 if len(batches) == 1 else 0)  # the first batch takes a while
        return actions.receive_webhooks(received)

    async def scenario() -> list[bool]:
        intake = Intake(write)
        first = asyncio.ensure_future(intake.record(*hook("EV_1", KNOWN, S.EGRESS_STARTING, 1)))
        while not first_started.is_set():
            await asyncio.sleep(0.01)
        later = [intake.record(*hook(f"EV_{n}", KNOWN, S.EGRESS_ACTIVE, n)) for n in range(2, 6)]
        again = intake.record(*hook("EV_1", KNOWN, S.EGRESS_STARTING, 1))
        return await asyncio.gather(first, *later, again)

    answers = asyncio.run(scenario())

    assert answers == [True, True, True, True, True, False]
    assert batches == [["EV_1"], ["EV_2", "EV_3", "EV_4", "EV_5", "EV_1"]]
    assert EgressJob.objects.get(egress_id=KNOWN).details == "step 5"


def test_the_intake_waits_for_webhooks_still_arriving_before_it_takes_a_batch() -> None:
    """Webhooks that reach the loop a turn apart go in one batch; one that comes after the
    loop went QUIET_TURNS turns without any goes in the next."""
    dashboard_job()
    batches: list[list[str]] = []

    def write(received: list[Received]) -> list[bool]:
        batches.append([event.id for event, _ in received])
        return actions.receive_webhooks(received)

    async def scenario() -> list[bool]:
        intake = Intake(write)
        arriving = []
        for n in range(1, 5):  # one a turn of the loop, as requests read one after another
            arriving.append(
                asyncio.ensure_future(intake.record(*hook(f"EV_{n}", KNOWN, S.EGRESS_ACTIVE, n)))
            )
            await asyncio.sleep(0)
        while not batches:
            await asyncio.sleep(0)
        late = intake.record(*hook("EV_5", KNOWN, S.EGRESS_ACTIVE, 5))
        return await asyncio.gather(*arriving, late)

    assert asyncio.run(scenario()) == [True] * 5
    assert batches == [["EV_1", "EV_2", "EV_3", "EV_4"], ["EV_5"]]
    assert webhooks.QUIET_TURNS > 1


def test_a_batch_that_fails_fails_each_of_its_requests_and_the_next_batch_still_lands() -> None:
    dashboard_job()
    calls: list[int] = []

    def write(received: list[Received]) -> list[bool]:
        calls.append(len(received))
        if len(calls) == 1:
            raise RuntimeError("the database went away")
        return actions.receive_webhooks(received)

    async def scenario() -> tuple[list[BaseException | bool], bool]:
        intake = Intake(write)
        failed = await asyncio.gather(
            intake.record(*hook("EV_1", KNOWN, S.EGRESS_STARTING, 1)),
            intake.record(*hook("EV_2", KNOWN, S.EGRESS_ACTIVE, 2)),
            return_exceptions=True,
        )
        return failed, await intake.record(*hook("EV_2", KNOWN, S.EGRESS_ACTIVE, 2))

    failed, retried = asyncio.run(scenario())

    assert [type(answer) for answer in failed] == [RuntimeError, RuntimeError]
    assert retried is True
    assert list(LedgerEntry.objects.values_list("event_id", flat=True)) == ["EV_2"]


def test_a_sender_that_hung_up_does_not_stop_the_others_being_answered() -> None:
    dashboard_job()

    async def scenario() -> bool:
        intake = Intake()
        gone = asyncio.ensure_future(intake.record(*hook("EV_1", KNOWN, S.EGRESS_STARTING, 1)))
        stays = asyncio.ensure_future(intake.record(*hook("EV_2", KNOWN, S.EGRESS_ACTIVE, 2)))
        await asyncio.sleep(0)
        gone.cancel()
        return await stays

    assert asyncio.run(scenario()) is True
    assert LedgerEntry.objects.count() == 2  # the hung-up sender's webhook was still recorded


def test_a_page_that_cannot_be_told_never_fails_the_webhook_already_applied(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Pages hear of a change once it is stored; if telling them fails (the database gone
    while the tapped sessions are read, the channel layer down), the webhook was applied all
    the same: answering with an error would have LiveKit send it again."""

    def unreachable(news: list[events.JobNews], *, rooms: bool) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(events, "_publisher", unreachable)
    answers = actions.receive_webhooks([hook("EV_1", KNOWN, S.EGRESS_STARTING, 1)])

    assert answers == [True]
    assert EgressJob.objects.get(egress_id=KNOWN).status == EgressStatus.STARTING
    assert "server closed the connection unexpectedly" in caplog.text
