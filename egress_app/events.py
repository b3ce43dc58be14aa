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
from typing import ClassVar

from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, get_channel_layer
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
class JobChanged:
    """A job's row (for the lists) and live part (for its page), with who may see them."""

    job_id: int
    owner_id: int | None
    was_active: bool
    is_active: bool
    row_html: str
    live_html: str
    home_html: str = ""

    def sends(self) -> list[tuple[str, Fragment]]:
        row = Fragment(self.row_html)
        sends = [(group(ALL_JOBS), row)]
        # A producer sees every running job, and its end is news to whoever watched it run;
        # the owner is among them (once is enough). Otherwise only the owner hears of it.
        if self.is_active or self.was_active:
            sends.append((group(ACTIVE_JOBS), row))
        elif self.owner_id is not None:
            sends.append((group(USER_JOBS, self.owner_id), row))
        sends.append((group(JOB, self.job_id), Fragment(self.live_html)))
        if self.home_html:
            sends.append((group(HOME), Fragment(self.home_html)))
        return sends


@dataclass(frozen=True)
class RoomsChanged:
    """A room, participant or track event: the home page reloads its live part."""

    home_html: str

    def sends(self) -> list[tuple[str, Fragment]]:
        return [(group(HOME), Fragment(self.home_html))]


Event = JobChanged | RoomsChanged


def send_now(event: Event) -> None:
    """Send to every group of the event; a channel layer failure only costs the push (pages
    still show the stored state on load and when polled)."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(_send_all)(layer, event.sends())
    except Exception:  # a broken push must never undo or fail the change it reports
        logger.exception("Could not push a live update to browsers")


async def _send_all(layer: BaseChannelLayer, sends: list[tuple[str, Fragment]]) -> None:
    # One hop to the event loop for all groups, sent concurrently.
    await asyncio.gather(*(layer.group_send(name, fragment.message()) for name, fragment in sends))


def publish(event: Event) -> None:
    transaction.on_commit(lambda: send_now(event))


def job_changed(job: EgressJob, *, was_active: bool, created: bool = False) -> JobChanged:
    from dashboard import fragments  # templates and their context live with the pages

    return JobChanged(
        job_id=job.pk,
        owner_id=job.started_by_id,
        was_active=was_active,
        is_active=job.is_active,
        # New to a list: just created, or now running (every producer sees running jobs).
        row_html=fragments.job_row(job, created=created or (job.is_active and not was_active)),
        live_html=fragments.job_live(job),
        # The home page lists what runs: it needs to hear of starts and ends, not every update.
        home_html=fragments.home_refresh() if created or was_active != job.is_active else "",
    )


def announce_job(job: EgressJob, *, was_active: bool, created: bool = False) -> None:
    """Publish the job's new state after the current transaction commits.

    Rendered at commit time, not now: the row may change again before then."""

    def send() -> None:
        try:
            jobs = EgressJob.objects.select_related("started_by").prefetch_related("destinations")
            fresh = jobs.filter(pk=job.pk).first()
            if fresh is not None:
                send_now(job_changed(fresh, was_active=was_active, created=created))
        except Exception:  # the change is committed; only its push is lost
            logger.exception("Could not render the live update of job %s", job.pk)

    transaction.on_commit(send)


def announce_rooms() -> None:
    from dashboard import fragments

    publish(RoomsChanged(fragments.home_refresh()))
