"""Messages to browsers: every payload sent over the channel layer is typed here.

Only actions publish, and only after their transaction commits (`transaction.on_commit`), so a
browser never sees a state that was rolled back. A payload carries HTML rendered once by the
publisher; consumers only relay it (htmx's ws extension swaps it in by id, out of band).
Group names come from `group()` alone.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, InMemoryChannelLayer, get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.db import transaction

from egress_app.models import EgressJob

logger = logging.getLogger(__name__)

# Audiences. Who may join which is decided by the consumer from the user's permissions.
ALL_JOBS = "jobs-all"  # support and admins: every job
ACTIVE_JOBS = "jobs-active"  # producers: every job that is or was running
USER_JOBS = "jobs-user"  # a producer's own jobs, keyed by user id
JOB = "job"  # one job's page, keyed by job id
HOME = "home"  # the live home page


def group(audience: str, key: int | str | None = None) -> str:
    """The channel layer group of an audience (ASCII, dots as separators)."""
    return f"live.{audience}" if key is None else f"live.{audience}.{key}"


@dataclass(frozen=True)
class Fragment:
    """Rendered HTML for the consumer to relay as it is."""

    type: ClassVar[str] = "live.fragment"
    html: str

    def message(self) -> dict[str, str]:
        return {"type": self.type, "html": self.html}


@dataclass(frozen=True)
class JobNews:
    """A job changed: who may hear of it. Rendered, for the pages open, once it commits."""

    job_id: int
    owner_id: int | None
    was_active: bool
    is_active: bool
    created: bool = False

    @classmethod
    def of(cls, job: EgressJob, *, was_active: bool, created: bool = False) -> JobNews:
        return cls(job.pk, job.started_by_id, was_active, job.is_active, created)

    @property
    def new_to_lists(self) -> bool:
        """Just created, or now running (every producer sees running jobs)."""
        return self.created or (self.is_active and not self.was_active)

    @property
    def moves_home(self) -> bool:
        """The home page lists what runs: it hears of starts and ends, not every update."""
        return self.created or self.was_active != self.is_active

    def row_groups(self) -> list[str]:
        groups = [group(ALL_JOBS)]
        # A producer sees every running job, and its end is news to whoever watched it run;
        # the owner is among them (once is enough). Otherwise only the owner hears of it.
        if self.is_active or self.was_active:
            groups.append(group(ACTIVE_JOBS))
        elif self.owner_id is not None:
            groups.append(group(USER_JOBS, self.owner_id))
        return groups

    def page_group(self) -> str:
        return group(JOB, self.job_id)


@dataclass(frozen=True)
class JobChanged:
    """A job's row (for the lists) and live part (for its page), each "" when no page that
    would show it is open."""

    news: JobNews
    row_html: str = ""
    live_html: str = ""

    def sends(self) -> list[tuple[str, Fragment]]:
        sends = []
        if self.row_html:
            sends += [(name, Fragment(self.row_html)) for name in self.news.row_groups()]
        if self.live_html:
            sends.append((self.news.page_group(), Fragment(self.live_html)))
        return sends


@dataclass(frozen=True)
class HomeChanged:
    """Rooms, participants or what runs changed: the home page reloads its live part."""

    home_html: str

    def sends(self) -> list[tuple[str, Fragment]]:
        return [(group(HOME), Fragment(self.home_html))]


async def _send_all(layer: BaseChannelLayer, sends: list[tuple[str, Fragment]]) -> None:
    # One hop to the event loop for all groups, sent concurrently.
    await asyncio.gather(*(layer.group_send(name, fragment.message()) for name, fragment in sends))


def announce_job(job: EgressJob, *, was_active: bool, created: bool = False) -> None:
    """Publish the job's new state after the current transaction commits."""
    announce_jobs([JobNews.of(job, was_active=was_active, created=created)])


def announce_jobs(news: list[JobNews]) -> None:
    """Publish these jobs' new states after the current transaction commits: rendered then,
    not now (a row may change again before), and only for the pages someone has open."""
    if news:
        transaction.on_commit(partial(_deliver, news))


def announce_rooms() -> None:
    """Rooms or participants changed: open home pages reload their live part, after commit."""
    transaction.on_commit(partial(_deliver, [], rooms=True))


def _deliver(news: list[JobNews], *, rooms: bool = False) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        home = rooms or any(item.moves_home for item in news)
        wanted = {name for item in news for name in (*item.row_groups(), item.page_group())}
        followed = async_to_sync(following)(layer, wanted | ({group(HOME)} if home else set()))
        sends = _rendered(news, followed, home=home and group(HOME) in followed)
        sends = [(name, sent) for name, sent in sends if name in followed]
        if sends:
            async_to_sync(_send_all)(layer, sends)
    except Exception:  # the change is committed; only its push is lost
        logger.exception("Could not push a live update to browsers")


def _rendered(news: list[JobNews], followed: set[str], *, home: bool) -> list[tuple[str, Fragment]]:
    """The fragments of the news that some open page follows, each job read once."""
    from dashboard import fragments  # templates and their context live with the pages

    lists = {item.job_id for item in news if followed.intersection(item.row_groups())}
    pages = {item.job_id for item in news if item.page_group() in followed}
    jobs = EgressJob.objects.select_related("started_by").prefetch_related("destinations")
    fresh = jobs.in_bulk(lists | pages) if lists or pages else {}
    sends = []
    for item in news:
        if (job := fresh.get(item.job_id)) is None:
            continue
        row = fragments.job_row(job, created=item.new_to_lists) if job.pk in lists else ""
        live = fragments.job_live(job) if job.pk in pages else ""
        sends += JobChanged(item, row, live).sends()
    if home:
        sends += HomeChanged(fragments.home_refresh()).sends()
    return sends


# --- who follows what ---------------------------------------------------------------------------
async def following(layer: BaseChannelLayer, names: set[str]) -> set[str]:
    """Which of the groups `names` some consumer has joined, in any process: nothing is rendered
    for a page no one has open. A layer it cannot ask is taken to have every group followed."""
    try:
        if isinstance(layer, InMemoryChannelLayer):  # one process: its own table
            return {name for name in names if layer.groups.get(name)}
        if isinstance(layer, RedisPubSubChannelLayer):  # each process subscribes once per group
            return await _subscribed(layer, names)
    except Exception:  # asking is an optimisation: when it fails, render everything
        logger.warning("Could not ask the channel layer who follows; rendering every update")
    return set(names)


async def _subscribed(layer: RedisPubSubChannelLayer, names: set[str]) -> set[str]:
    # channels_redis publishes a group to the Redis channel its layer names; PUBSUB NUMSUB
    # counts the processes subscribed to it (a process subscribes while one of its consumers
    # is in the group). The names and shards are channels_redis's own (4.x).
    loop_layer = layer._get_layer()
    by_shard: dict[Any, dict[str, str]] = {}
    for name in names:
        channel = loop_layer._get_group_channel_name(name)
        by_shard.setdefault(loop_layer._get_shard(channel), {})[channel] = name
    followed = set()
    for shard, channels in by_shard.items():
        shard._ensure_redis()
        for channel, count in await shard._redis.pubsub_numsub(*channels):
            if count:
                followed.add(channels[channel.decode() if isinstance(channel, bytes) else channel])
    return followed
