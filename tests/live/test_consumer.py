"""The live websocket (`/ws/live/`) through the real ASGI application: who may follow which view,
the snapshot sent first, and the pushes an action's change brings, for each audience.

The consumer reads the database from another thread, so the tests commit (transactional
database); the channel layer is whatever the settings configure (in memory, or Redis with
REDIS_URL), so the same tests cover both.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from livekit.protocol import egress, webhook

from dashboard import consumers, fragments, subscriptions
from egress_app import actions, events, history
from egress_app.models import EgressJob, EgressKind, EgressStatus
from egress_app.roles import PRODUCERS
from tests.conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ORIGIN = b"http://testserver"  # the dashboard's pages, as the tests serve them
VIEWS = ["view=jobs", "view=job&id={job}", "view=home"]
# The element each view's snapshot swaps in (out of band).
SNAPSHOT_IDS = {"jobs": 'id="job-rows"', "job": 'id="job-live"', "home": 'id="live-refresh"'}
WAIT = 15  # seconds at most, a bound: a push crosses the channel layer after a commit


# --- helpers ------------------------------------------------------------------------------------
def headers_for(user: User | None, origin: bytes = ORIGIN) -> list[tuple[bytes, bytes]]:
    """What a browser on the dashboard's page sends: its origin, host and session cookie."""
    headers = [(b"origin", origin), (b"host", b"testserver")]
    if user is not None:
        client = Client()
        client.force_login(user)
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session}".encode()))
    return headers


def make_job(user: User | None, egress_id: str, status: str = EgressStatus.COMPLETE) -> EgressJob:
    return EgressJob.objects.create(
        egress_id=egress_id,
        kind=EgressKind.ROOM_COMPOSITE,
        room_name="town-hall",
        started_by=user,
        status=status,
    )


def change(job: EgressJob, status: str | None = None) -> EgressJob:
    """LiveKit reports news of the job (the reconciler's path): it changes and is published."""
    info = egress.EgressInfo(
        egress_id=job.egress_id,
        room_name=job.room_name,
        status=status or job.status,  # by name
        updated_at=time.time_ns(),
        details=f"news {uuid.uuid4().hex[:8]}",
    )
    folded = actions.observe(info)
    assert folded.changed
    assert folded.job is not None
    return folded.job


def unknown_egress_webhook(egress_id: str) -> EgressJob:
    """A verified webhook for an egress no job knows: it becomes a new external job."""
    info = egress.EgressInfo(
        egress_id=egress_id,
        room_name="lobby",
        status=egress.EgressStatus.EGRESS_STARTING,
        updated_at=time.time_ns(),
        room_composite=egress.RoomCompositeEgressRequest(room_name="lobby"),
    )
    event = webhook.WebhookEvent(event="egress_started", id=f"EV_{egress_id}", egress_info=info)
    assert actions.receive_webhook(event)
    return EgressJob.objects.get(egress_id=egress_id)


def fail(job: EgressJob, error: str) -> EgressJob:
    """LiveKit reports the job's egress failed, saying `error`."""
    now = time.time_ns()
    info = egress.EgressInfo(
        egress_id=job.egress_id,
        room_name=job.room_name,
        status=egress.EgressStatus.EGRESS_FAILED,
        updated_at=now,
        ended_at=now,
        error=error,
    )
    folded = actions.observe(info)
    assert folded.changed
    assert folded.job is not None
    return folded.job


def row_id(job: EgressJob) -> str:
    return f'id="job-{job.pk}"'


async def headers(user: User | None, origin: bytes = ORIGIN) -> list[tuple[bytes, bytes]]:
    return await database_sync_to_async(headers_for)(user, origin)


@asynccontextmanager
async def socket(
    query: str, user: User | None, origin: bytes = ORIGIN
) -> AsyncIterator[tuple[bool, WebsocketCommunicator]]:
    """Open `/ws/live/?<query>` as `user`: (accepted, communicator); always closed after."""
    from dashboard.asgi import application  # loaded by `asgi_loaded`

    communicator = WebsocketCommunicator(
        application, f"/ws/live/?{query}", headers=await headers(user, origin)
    )
    connected, _ = await communicator.connect(timeout=WAIT)
    try:
        yield connected, communicator
    finally:
        await communicator.disconnect()
        await settle_channel_layer()


async def settle_channel_layer() -> None:
    """Let the Redis layer finish tidying up after what it received, on this test's event loop:
    its per-process lock, still held by an unfinished cleanup when the loop closes, would be
    bound to a dead loop in the next test."""
    cleaners = list(getattr(get_channel_layer(), "receive_cleaners", []))
    await asyncio.gather(*cleaners, return_exceptions=True)


@asynccontextmanager
async def following(query: str, user: User) -> AsyncIterator[WebsocketCommunicator]:
    """An accepted socket whose snapshot was read: what comes next is pushes."""
    async with socket(query, user) as (connected, communicator):
        assert connected, f"{user.username} was refused {query}"
        assert "hx-swap-oob" in await communicator.receive_from(timeout=WAIT)
        yield communicator


async def refused(query: str, user: User | None, origin: bytes = ORIGIN) -> bool:
    async with socket(query, user, origin) as (connected, communicator):
        if connected:
            return False
        # Closed before the handshake completed: nothing was sent, not even a snapshot.
        assert await communicator.receive_nothing()
        return True


async def sync(function: Any, *args: Any, **kwargs: Any) -> Any:
    return await database_sync_to_async(function)(*args, **kwargs)


def prepare() -> None:
    """Before a test's event loop runs: load the application (that reads the database, the key
    check). The Redis layer is the pub/sub one, which keeps a layer per event loop."""
    import dashboard.asgi  # noqa: F401


@pytest.fixture(autouse=True)
def asgi_loaded(transactional_db, settings) -> None:
    settings.WEBSOCKET_ALLOWED_ORIGINS = [ORIGIN.decode()]
    prepare()


@pytest.fixture
def user(request) -> User:
    """The persona a test is parametrized with (by fixture name)."""
    return request.getfixturevalue(request.param)


@pytest.fixture
def other_producer(db) -> User:
    return make_user("pia-producer", PRODUCERS)


@pytest.fixture
def finished(other_producer) -> EgressJob:
    """Another producer's ended job: not for a producer's eyes."""
    return make_job(other_producer, "EG_finished")


@pytest.fixture
def running(other_producer) -> EgressJob:
    """Another producer's running job: every producer sees it."""
    return make_job(other_producer, "EG_running", EgressStatus.ACTIVE)


def views(job: EgressJob) -> list[str]:
    return [view.format(job=job.pk) for view in VIEWS]


# --- who may follow what ------------------------------------------------------------------------
async def test_it_refuses_anonymous_visitors_every_view(finished):
    for query in views(finished):
        assert await refused(query, None), query


async def test_it_refuses_outsiders_every_view(outsider, finished):
    for query in views(finished):
        assert await refused(query, outsider), query


@pytest.mark.parametrize(
    "origin",
    [
        b"http://evil.example",
        b"https://testserver.evil.example",
        b"http://testserver:9999",  # the same host, another port: another site
        b"https://testserver",
        b"null",
    ],
)
async def test_it_refuses_a_page_from_another_origin(admin, finished, origin):
    for query in views(finished):
        assert await refused(query, admin, origin), query
    # The same user from the dashboard's own origin is let in.
    for query in views(finished):
        async with socket(query, admin) as (connected, _):
            assert connected, query


async def test_it_refuses_a_view_it_does_not_know_or_a_job_that_is_not_there(admin, finished):
    queries = ["", "view=nope", "view=job", "view=job&id=abc", f"view=job&id={finished.pk + 1}"]
    # "²" passes str.isdigit(), 5000 digits int()'s limit (issue 13, section 4).
    queries += ["view=job&id=%C2%B2", f"view=job&id={'9' * 5000}", f"view=job&id={2**63}"]
    for query in queries:
        assert await refused(query, admin), query


async def test_it_refuses_a_producer_another_producers_finished_job(producer, finished):
    assert await refused(f"view=job&id={finished.pk}", producer)


async def test_it_lets_a_producer_follow_their_own_jobs_and_any_running_one(
    producer, running, finished
):
    own = await sync(make_job, producer, "EG_own")
    for job in (own, running):
        async with socket(f"view=job&id={job.pk}", producer) as (connected, _):
            assert connected, job.egress_id
    for query in ("view=jobs", "view=home"):
        async with socket(query, producer) as (connected, _):
            assert connected, query


@pytest.mark.parametrize("user", ["support", "admin"], indirect=True)
async def test_it_lets_support_and_admins_follow_every_view_of_any_job(user, finished, running):
    for query in [*views(finished), *views(running)]:
        async with socket(query, user) as (connected, _):
            assert connected, query


# --- the snapshot -------------------------------------------------------------------------------
@pytest.mark.parametrize("user", ["producer", "support"], indirect=True)
async def test_it_sends_the_views_current_state_first_and_only_once(user, running):
    for query in views(running):
        async with socket(query, user) as (connected, communicator):
            assert connected, query
            snapshot = await communicator.receive_from(timeout=WAIT)
            view = query.split("&")[0].removeprefix("view=")
            assert SNAPSHOT_IDS[view] in snapshot, query
            assert 'hx-swap-oob="true"' in snapshot
            if view == "jobs":
                assert row_id(running) in snapshot
                assert "EG_running" in snapshot
            if view == "job":
                assert reverse("dashboard-job-live", args=[running.pk]) in snapshot
            assert await communicator.receive_nothing()


async def test_it_sends_a_producer_only_the_jobs_they_may_see(producer, finished, running):
    own = await sync(make_job, producer, "EG_own")
    async with socket("view=jobs", producer) as (connected, communicator):
        assert connected
        snapshot = await communicator.receive_from(timeout=WAIT)
    assert row_id(own) in snapshot
    assert row_id(running) in snapshot
    assert row_id(finished) not in snapshot
    assert "EG_finished" not in snapshot


async def test_it_marks_only_the_first_page_as_the_place_for_new_rows(support):
    await sync(
        EgressJob.objects.bulk_create,
        [
            EgressJob(egress_id=f"EG_{n}", kind=EgressKind.ROOM_COMPOSITE, room_name="town-hall")
            for n in range(51)
        ],
    )
    async with socket("view=jobs", support) as (_, communicator):
        first = await communicator.receive_from(timeout=WAIT)
    top = await sync(history.page, EgressJob.objects.all(), history.SORTS[history.DEFAULT_SORT])
    after = urlencode({"after": str(top.older)})
    async with socket(f"view=jobs&{after}", support) as (_, communicator):
        second = await communicator.receive_from(timeout=WAIT)
    async with socket("view=jobs&room=town-hall", support) as (_, communicator):
        filtered = await communicator.receive_from(timeout=WAIT)
    assert "data-first-page" in first
    assert 'id="job-rows"' in second
    assert "data-first-page" not in second
    assert second.count('<tr id="job-') == 1
    # A filtered list may not show a new job: it waits for its next poll.
    assert filtered.count('<tr id="job-') == 50
    assert "data-first-page" not in filtered


# --- pushes -------------------------------------------------------------------------------------
async def test_it_pushes_a_job_started_elsewhere_to_support_as_a_new_row(support):
    async with following("view=jobs", support) as communicator:
        job = await sync(unknown_egress_webhook, "EG_from_elsewhere")
        pushed = await communicator.receive_from(timeout=WAIT)
        assert row_id(job) in pushed
        assert "EG_from_elsewhere" in pushed
        assert 'hx-swap-oob="afterbegin:#job-rows[data-first-page]"' in pushed
        assert await communicator.receive_nothing()


async def test_it_follows_a_group_once_per_process_and_pushes_to_each_socket(support, admin):
    """The process joins a group once for all its sockets (dashboard.fanout), and keeps it
    while one of them still follows."""
    name = "live.jobs-all"
    before = await members(name)
    async with following("view=jobs", support) as first, following("view=jobs", admin) as second:
        assert len(await members(name) - before) == 1
        job = await sync(unknown_egress_webhook, "EG_to_both")
        for communicator in (first, second):
            assert row_id(job) in await communicator.receive_from(timeout=WAIT)
            assert await communicator.receive_nothing()
        async with following("view=jobs", support):  # a third socket comes and goes
            pass
        job = await sync(unknown_egress_webhook, "EG_after_one_left")
        for communicator in (first, second):
            assert row_id(job) in await communicator.receive_from(timeout=WAIT)
    assert not (await members(name) - before)


@pytest.mark.parametrize("user", ["support", "admin"], indirect=True)
async def test_it_pushes_every_changed_row_to_support_and_admins(user, finished):
    async with following("view=jobs", user) as communicator:
        await sync(change, finished)
        pushed = await communicator.receive_from(timeout=WAIT)
        assert f'<tr id="job-{finished.pk}" data-job="{finished.pk}" hx-swap-oob="true">' in pushed
        assert await communicator.receive_nothing()


async def test_it_pushes_a_producer_running_jobs_but_not_other_producers_finished_ones(
    producer, finished, running
):
    async with following("view=jobs", producer) as communicator:
        await sync(change, finished)  # published first: it would arrive first
        await sync(change, running)
        pushed = await communicator.receive_from(timeout=WAIT)
        assert row_id(running) in pushed
        assert row_id(finished) not in pushed
        assert await communicator.receive_nothing()

        # A running job's end is still news to the producers who watched it run.
        await sync(change, running, EgressStatus.COMPLETE)
        pushed = await communicator.receive_from(timeout=WAIT)
        assert row_id(running) in pushed
        assert "Complete" in pushed

        # Once ended it is another producer's finished job: no more news of it.
        await sync(change, running, EgressStatus.COMPLETE)
        assert await communicator.receive_nothing(timeout=0.5)


async def test_it_pushes_a_producer_changes_of_their_own_finished_jobs(producer):
    own = await sync(make_job, producer, "EG_own")
    async with following("view=jobs", producer) as communicator:
        await sync(change, own)
        assert row_id(own) in await communicator.receive_from(timeout=WAIT)


async def test_it_pushes_a_new_job_only_to_producers_allowed_to_see_it(producer, other_producer):
    async with following("view=jobs", producer) as communicator:
        # An ended egress no job knew: an external job nobody started, never active.
        info = egress.EgressInfo(
            egress_id="EG_ended_elsewhere",
            room_name="lobby",
            status=egress.EgressStatus.EGRESS_COMPLETE,
            updated_at=time.time_ns(),
        )
        await sync(actions.observe, info)
        # One starting now is running: every producer hears of it.
        job = await sync(unknown_egress_webhook, "EG_starting_elsewhere")
        pushed = await communicator.receive_from(timeout=WAIT)
        assert row_id(job) in pushed
        assert "EG_ended_elsewhere" not in pushed
        assert await communicator.receive_nothing()


async def test_it_pushes_another_producers_job_as_new_when_it_starts_running(
    producer, other_producer
):
    # Launching (no status yet): only its producer sees it, so this producer's list lacks it.
    launching = await sync(make_job, other_producer, "EG_about_to_run", "")
    async with following("view=jobs", producer) as communicator:
        await sync(change, launching, EgressStatus.STARTING)
        pushed = await communicator.receive_from(timeout=WAIT)
        assert row_id(launching) in pushed
        # A new row for this page (the page replaces it in place where it is shown already).
        assert 'hx-swap-oob="afterbegin:#job-rows[data-first-page]"' in pushed

        await sync(change, launching, EgressStatus.ACTIVE)
        pushed = await communicator.receive_from(timeout=WAIT)
        assert (
            f'<tr id="job-{launching.pk}" data-job="{launching.pk}" hx-swap-oob="true">' in pushed
        )


async def test_it_pushes_a_job_page_its_live_part(producer, running):
    own = await sync(make_job, producer, "EG_own", EgressStatus.ACTIVE)
    async with following(f"view=job&id={own.pk}", producer) as communicator:
        await sync(change, running)  # another job's news is not this page's
        await sync(change, own, EgressStatus.COMPLETE)
        pushed = await communicator.receive_from(timeout=WAIT)
        assert pushed.strip().startswith('<section id="job-live"')
        assert 'hx-swap-oob="true"' in pushed
        assert "Complete" in pushed
        assert await communicator.receive_nothing()


async def test_it_lets_go_of_another_producers_job_once_it_ends(producer, running):
    page = events.group(events.JOB, running.pk)
    async with following(f"view=job&id={running.pk}", producer) as communicator:
        assert len(await members(page)) == 1
        await sync(fail, running, "Connection refused by rtmp://ingest.example/live")
        # Its page is a 404 for them now: a notice instead of how it ended, then no more of it.
        pushed = await communicator.receive_from(timeout=WAIT)
        assert "This job has ended" in pushed
        assert "Connection refused" not in pushed
        assert "Failed" not in pushed
        closed = await communicator.receive_output(timeout=WAIT)
        assert closed["type"] == "websocket.close"
        assert not await members(page)
    response = await sync(page_for, producer, running)
    assert response.status_code == 404


@pytest.mark.parametrize("user", ["other_producer", "support"], indirect=True)
async def test_it_pushes_the_end_of_a_job_to_its_owner_and_reviewers(user, running):
    async with following(f"view=job&id={running.pk}", user) as communicator:
        failed = await sync(fail, running, "Connection refused by rtmp://ingest.example/live")
        pushed = await communicator.receive_from(timeout=WAIT)
        assert "Connection refused" in pushed
        assert "Failed" in pushed
        await sync(change, failed)  # still theirs to follow
        assert "job-live" in await communicator.receive_from(timeout=WAIT)


async def test_it_withholds_a_job_that_ended_out_of_sight_while_it_connects(
    producer, running, monkeypatch
):
    """The job ended between the check that let the socket in and its snapshot."""
    subscribe = subscriptions.subscribe

    def subscribe_then_end(*args: Any) -> subscriptions.Subscription | None:
        plan = subscribe(*args)
        fail(running, "Connection refused by rtmp://ingest.example/live")
        return plan

    monkeypatch.setattr(consumers, "subscribe", subscribe_then_end)
    async with socket(f"view=job&id={running.pk}", producer) as (connected, communicator):
        assert connected
        snapshot = await communicator.receive_from(timeout=WAIT)
    assert "This job has ended" in snapshot
    assert "Connection refused" not in snapshot


def page_for(user: User, job: EgressJob) -> Any:
    client = Client()
    client.force_login(user)
    return client.get(reverse("dashboard-job-detail", args=[job.pk]))


async def test_it_tells_the_home_page_to_reload_when_a_job_starts_changes_or_ends(
    producer, running, finished
):
    async with following("view=home", producer) as communicator:
        # A finished job's edit is not on the home page: nothing to reload.
        await sync(change, finished)
        assert await communicator.receive_nothing(timeout=0.5)

        # A running job's update is (its status shows in the active egress).
        await sync(change, running)
        assert 'id="live-refresh"' in await communicator.receive_from(timeout=WAIT)

        await sync(change, running, EgressStatus.COMPLETE)
        pushed = await communicator.receive_from(timeout=WAIT)
        assert 'id="live-refresh"' in pushed
        assert "EG_running" not in pushed  # a signal to reload, not the job itself

        await sync(unknown_egress_webhook, "EG_from_elsewhere")
        assert 'id="live-refresh"' in await communicator.receive_from(timeout=WAIT)


@pytest.mark.parametrize("renderer", ["job_rows", "job_live"])
async def test_it_misses_no_change_committed_while_it_connects(
    support, finished, monkeypatch, renderer
):
    """A change committed right after the snapshot was rendered still arrives, as a push."""
    render = getattr(fragments, renderer)
    changed: list[EgressJob] = []

    def render_then_change(*args: Any) -> str:
        html = render(*args)
        if not changed:  # once: the push renders the job's live part too
            changed.append(change(finished, EgressStatus.FAILED))
        return html

    monkeypatch.setattr(fragments, renderer, render_then_change)
    query = "view=jobs" if renderer == "job_rows" else f"view=job&id={finished.pk}"
    async with socket(query, support) as (connected, communicator):
        assert connected
        snapshot = await communicator.receive_from(timeout=WAIT)
        pushed = await communicator.receive_from(timeout=WAIT)
    assert changed
    assert "Failed" not in snapshot
    assert "Failed" in pushed


async def members(group: str) -> set[str]:
    """The channels in a channel layer group: in memory, or this process's members of a Redis
    pub/sub group."""
    layer = get_channel_layer()
    if isinstance(layer, InMemoryChannelLayer):
        return set(layer.groups.get(group, {}))
    # The pub/sub layer: this process's members, kept by the layer of this event loop.
    loop_layer = layer._get_layer()
    return set(loop_layer.groups.get(loop_layer._get_group_channel_name(group), set()))


@pytest.mark.parametrize(
    ("user", "view", "groups"),
    [
        ("support", "view=jobs", ["live.jobs-all"]),
        ("producer", "view=jobs", ["live.jobs-active", "live.jobs-user.{user}"]),
        ("producer", "view=job&id={job}", ["live.job.{job}"]),
        ("producer", "view=home", ["live.home"]),
    ],
    indirect=["user"],
)
async def test_it_leaves_its_groups_when_the_socket_closes(user, view, groups, running):
    names = [group.format(user=user.pk, job=running.pk) for group in groups]
    before = {name: await members(name) for name in names}
    async with following(view.format(job=running.pk), user):
        joined = {name: await members(name) - before[name] for name in names}
        assert all(len(channels) == 1 for channels in joined.values()), joined
    for name in names:
        assert not joined[name] & await members(name), name


# --- the Live page, pushed at a webhook ----------------------------------------------------------
PUSHED_WITHIN = 1.0  # seconds: the bound for a webhook to reach the Live page


async def post_webhook(name: str, **changes: Any) -> float:
    """Sign and POST the fixture `name` to the webhook endpoint through the ASGI application,
    as LiveKit does: when it was sent (time.monotonic())."""
    from dashboard.asgi import application
    from tests.live import SENDER, body_of, event, sign

    body = body_of(event(name, **changes))
    transport = httpx.ASGITransport(app=application, client=(SENDER, 4321))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        sent = time.monotonic()
        answer = await client.post(
            "/livekit/webhook", content=body, headers={"Authorization": sign(body)}
        )
    assert answer.status_code == 200, answer.text
    return sent


@pytest.mark.parametrize(
    "name",
    [
        "participant_joined__basic",
        "track_published__basic",
        "room_started__basic",
        "egress_updated__active",
    ],
)
async def test_it_pushes_the_live_page_within_a_second_of_a_webhook(settings, producer, name):
    from tests.live import KEY, SECRET

    settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET = KEY, SECRET
    async with following("view=home", producer) as communicator:
        sent = await post_webhook(name, id=f"EV_{uuid.uuid4().hex}")
        pushed = await communicator.receive_from(timeout=WAIT)
        took = time.monotonic() - sent
    assert 'id="live-refresh"' in pushed
    assert took < PUSHED_WITHIN, f"{name} reached the Live page after {took:.2f} s"


async def test_it_pushes_the_live_page_when_a_producer_moderates(producer, sandbox):
    sid = sandbox.control.track_sid("podcast", "guest", "microphone")
    async with following("view=home", producer) as communicator:
        await sync(actions.mute_track, producer, "podcast", "guest", sid, muted=True)
        assert 'id="live-refresh"' in await communicator.receive_from(timeout=WAIT)

        await sync(actions.remove_participant, producer, "podcast", "guest")
        assert 'id="live-refresh"' in await communicator.receive_from(timeout=WAIT)
