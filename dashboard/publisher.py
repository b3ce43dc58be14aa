"""The publisher of live updates: what actions announce (egress_app/events.py), rendered once
for the pages someone has open and delivered over the channel layer.

Rendering needs the pages' templates and asking who follows what needs the channel layer's
internals, so this lives with the pages; DashboardConfig.ready() registers `deliver` with
`events.publish_with`, in every process that has the app (the ASGI server, egress_worker, tests).
"""

from __future__ import annotations

import asyncio
import logging
import time
from functools import partial

from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, InMemoryChannelLayer, get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.db.models import prefetch_related_objects

from dashboard import audio, fragments, livekit_cache, pubsub
from egress_app.events import (
    HOME,
    PERSON,
    AudioNews,
    Caption,
    Fragment,
    HomeChanged,
    JobChanged,
    JobNews,
    MixLevel,
    Private,
    SignedOut,
    TapLevel,
    group,
)
from egress_app.models import EgressJob

logger = logging.getLogger(__name__)


def deliver_sign_out(user_id: int) -> None:
    """Tell every open socket of the person to close (after their deactivation commits)."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group(PERSON, user_id), SignedOut().message())
    except Exception:  # their sessions are gone already; a socket left open ends at reconnect
        logger.exception("Could not close a signed-out person's live sockets")


def deliver(news: list[JobNews], *, rooms: bool = False) -> None:
    """Render the news for the pages someone has open, and send it to them (`rooms`: the home
    page's rooms or participants changed). Called once the announcing transaction commits."""
    home = rooms or any(item.moves_home for item in news)
    if home:
        _forget_live_reads()
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        wanted = {name for item in news for name in (*item.row_groups(), item.page_group())}
        followed = _following_now(layer, wanted | ({group(HOME)} if home else set()))
        sends = _rendered(news, followed, home=home and group(HOME) in followed)
        sends = [(name, sent) for name, sent in sends if name in followed]
        if sends:
            _send_now(layer, _joined(sends))
    except Exception:  # the change is committed; only its push is lost
        logger.exception("Could not push a live update to browsers")


def _forget_live_reads() -> None:
    """LiveKit's answers the Live pages share are out of date: whoever reloads (the person who
    acted, every page this push reloads, the next poll) reads LiveKit again."""
    try:
        livekit_cache.forget()
    except Exception:  # the cache is down: its answers expire within LIVE_CACHE_SECONDS anyway
        logger.exception("Could not forget the Live page's LiveKit answers")


def _rendered(news: list[JobNews], followed: set[str], *, home: bool) -> list[tuple[str, Fragment]]:
    """The fragments of the news that some open page follows, each job read once."""
    lists = {item.job_id for item in news if followed.intersection(item.row_groups())}
    pages = {item.job_id for item in news if item.page_group() in followed}
    jobs = EgressJob.objects.select_related("started_by")
    fresh = jobs.in_bulk(lists | pages) if lists or pages else {}
    # Destinations only for the jobs that show them: prefetching them for a whole batch cost
    # more than rendering its rows.
    shown = [job for job in fresh.values() if job.pk in pages or fragments.counts_streams(job)]
    prefetch_related_objects(shown, "destinations")
    sends = []
    for item in news:
        if (job := fresh.get(item.job_id)) is None:
            continue
        row = fragments.job_row(job, created=item.new_to_lists) if job.pk in lists else ""
        live = fragments.job_live(job) if job.pk in pages else ""
        sends += JobChanged(item, row, live, _private(job) if live else None).sends()
    if home:
        sends += HomeChanged(fragments.home_refresh()).sends()
    return sends


def _private(job: EgressJob) -> Private | None:
    """Who may still see the job's page as rendered: decided on this fresh copy (it may have
    ended since the news), not on the news."""
    if job.is_active:
        return None
    return Private(job.started_by_id, fragments.job_withheld())


# --- who follows what ---------------------------------------------------------------------------
async def following(layer: BaseChannelLayer, names: set[str]) -> set[str]:
    """Which of the groups `names` some consumer has joined, in any process: nothing is rendered
    for a page no one has open. A layer it cannot ask is taken to have every group followed."""
    try:
        if isinstance(layer, InMemoryChannelLayer):  # one process: its own table
            return {name for name in names if layer.groups.get(name)}
        if isinstance(layer, RedisPubSubChannelLayer):  # each process subscribes once per group
            # PUBSUB NUMSUB counts the processes subscribed to a group's Redis channel (a
            # process subscribes while one of its consumers is in the group).
            return await asyncio.to_thread(pubsub.thread_side(layer).followed, names)
    except Exception:  # asking is an optimisation: when it fails, render everything
        logger.warning("Could not ask the channel layer who follows; rendering every update")
    return set(names)


def _following_now(layer: BaseChannelLayer, names: set[str]) -> set[str]:
    """`following`, asked from a worker thread: Redis straight from it (`pubsub.ThreadSide`),
    any other layer on its event loop."""
    if not isinstance(layer, RedisPubSubChannelLayer):
        return async_to_sync(following)(layer, names)
    try:
        return pubsub.thread_side(layer).followed(names)
    except Exception:  # asking is an optimisation: when it fails, render everything
        logger.warning("Could not ask the channel layer who follows; rendering every update")
        return set(names)


def _send_now(layer: BaseChannelLayer, sends: list[tuple[str, Fragment]]) -> None:
    """Each fragment to its group, from a worker thread (as `_following_now`)."""
    if isinstance(layer, RedisPubSubChannelLayer):
        pubsub.thread_side(layer).publish((name, fragment.message()) for name, fragment in sends)
    else:
        async_to_sync(_send_all)(layer, sends)


def _joined(sends: list[tuple[str, Fragment]]) -> list[tuple[str, Fragment]]:
    """One message per group: the fragments for everyone in it joined in their order (htmx
    swaps each out-of-band element of a message), so a batch of webhooks costs each open list
    one frame, not one per job; a fragment not for everyone in its group goes alone."""
    joined: dict[str, list[str]] = {}
    alone = []
    for name, fragment in sends:
        if fragment.private is None:
            joined.setdefault(name, []).append(fragment.html)
        else:
            alone.append((name, fragment))
    return [(name, Fragment("".join(parts))) for name, parts in joined.items()] + alone


async def _send_all(layer: BaseChannelLayer, sends: list[tuple[str, Fragment]]) -> None:
    # One hop to the event loop for all groups, sent concurrently.
    await asyncio.gather(*(layer.group_send(name, fragment.message()) for name, fragment in sends))


# --- audio sessions -----------------------------------------------------------------------------
LEVEL_KEPT_SECONDS = 1.0  # how often a tap's reading is kept for the polled page
REMEMBERED = 10_000  # taps and sessions whose times are kept, at most
_kept_at: dict[int, float] = {}


async def deliver_level(level: TapLevel) -> None:
    """A tap's meter to its session's open pages, rendered on the audio endpoint's event loop
    (a few hundred bytes of template), and kept about once a second for the polled page."""
    now = time.monotonic()
    if len(_kept_at) > REMEMBERED or len(_followed_at) > REMEMBERED:  # taps long gone among them
        _kept_at.clear()
        _followed_at.clear()
    if now - _kept_at.get(level.tap_id, 0.0) >= LEVEL_KEPT_SECONDS:
        _kept_at[level.tap_id] = now
        _keep_aside(level)
    layer = get_channel_layer()
    if layer is not None and await _followed(layer, level.page_group(), now):
        html = audio.tap_level(level)
        await layer.group_send(level.page_group(), Fragment(html).message())


_keeping: dict[int, asyncio.Task[None]] = {}


def _keep_aside(level: TapLevel) -> None:
    """Keep the reading for the polled page without waiting for it: Django's cache runs its
    async calls on the one thread it shares with every tap's database writes, and a reading
    waiting there held its page's meter seconds late with 100 taps (bench/audio.py). One keep
    per tap at a time: while one is on its way, readings are not kept (one comes each second)."""
    if level.tap_id in _keeping:
        return
    task = asyncio.get_running_loop().create_task(audio.keep_level(level))
    _keeping[level.tap_id] = task
    task.add_done_callback(partial(_kept, level.tap_id))


def _kept(tap_id: int, task: asyncio.Task[None]) -> None:
    _keeping.pop(tap_id, None)
    if not task.cancelled() and task.exception() is not None:
        logger.warning("Could not keep audio tap %s's level: %s", tap_id, task.exception())


async def deliver_mix(level: MixLevel) -> None:
    """A session's mix meter to its open pages, on the mixing process's event loop (the web
    process in development, `audio_worker` with Redis), kept about once a second for the
    polled page of the same process."""
    now = time.monotonic()
    key = -level.session_id  # sessions beside taps in `_kept_at`, which are positive
    if now - _kept_at.get(key, 0.0) >= LEVEL_KEPT_SECONDS:
        _kept_at[key] = now
        await audio.keep_mix(level)
    layer = get_channel_layer()
    if layer is not None and await _followed(layer, level.page_group(), now):
        html = audio.mix_level(level)
        await layer.group_send(level.page_group(), Fragment(html).message())


FOLLOWERS_ASKED_SECONDS = 1.0  # a page opened meanwhile gets the meters at most this late
_followed_at: dict[str, tuple[float, bool]] = {}


async def _followed(layer: BaseChannelLayer, name: str, now: float) -> bool:
    """Whether a session's page is open, asked about once a second: a reading costs about as
    much to render as to measure, so none is rendered for nobody."""
    asked_at, followed = _followed_at.get(name, (0.0, False))
    if now - asked_at >= FOLLOWERS_ASKED_SECONDS:
        followed = bool(await following(layer, {name}))
        _followed_at[name] = (now, followed)
    return followed


async def deliver_caption(caption: Caption) -> None:
    """A caption line (or the engine's state) to the session's open pages, on the processor's
    event loop. Asked who follows each time: a caption is rare next to a level, and a page that
    just opened must not miss its first line."""
    layer = get_channel_layer()
    if layer is None or not await following(layer, {caption.page_group()}):
        return
    html = audio.caption(caption)
    await layer.group_send(caption.page_group(), Fragment(html).message())


def deliver_audio(news: AudioNews) -> None:
    """A session's taps as they are now, to its open pages. Called once the change commits."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        if not _following_now(layer, {news.page_group()}):
            return
        html = audio.live_push(news.session_id)
        _send_now(layer, [(news.page_group(), Fragment(html))])
    except Exception:  # the change is committed; only its push is lost
        logger.exception("Could not push an audio session's update to browsers")
