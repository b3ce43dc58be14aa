"""How long LiveKit lets an egress run: LiveKit Cloud ends file egress at 3 h and streams at
12 h; a self-hosted egress as its operator set (EGRESS_MAX_FILE_SECONDS,
EGRESS_MAX_STREAM_SECONDS, none when empty). A launch may set a shorter one of its own
(`stop_after`), which the worker keeps with StopEgress. A running job's page shows the time
left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError

from egress_app.launch.config import UPLOADING_OUTPUTS
from egress_app.models import EgressJob, LaunchState

LAUNCH = "launch"


def stop_after(job: EgressJob) -> timedelta | None:
    """The maximum duration the job was launched with (a launch form's Stop after, a
    recipe's, a rule's), or None."""
    seconds = (job.config or {}).get("stop_after")
    return timedelta(seconds=seconds) if isinstance(seconds, int) and seconds > 0 else None


@dataclass(frozen=True)
class TimeLimit:
    """The limit that ends the job first, and which kind of output it is the limit of."""

    length: timedelta
    of: str  # "file" or "stream" (LiveKit's), or "launch" (the job's own `stop_after`)

    @property
    def set_at_launch(self) -> bool:
        return self.of == LAUNCH

    def ends_at(self, started_at: datetime) -> datetime:
        return started_at + self.length


def _limits(job: EgressJob) -> list[TimeLimit]:
    outputs = job.config.get("outputs") or {}
    has_file = any(outputs.get(name) for name in UPLOADING_OUTPUTS)
    has_stream = outputs.get("stream") is not None or bool(job.adhoc_outputs)
    has_stream |= bool((job.config.get("track") or {}).get("websocket_url"))
    limits = []
    if (own := stop_after(job)) is not None:
        limits.append(TimeLimit(own, LAUNCH))
    if has_file and settings.EGRESS_MAX_FILE_SECONDS:
        limits.append(TimeLimit(timedelta(seconds=settings.EGRESS_MAX_FILE_SECONDS), "file"))
    if has_stream and settings.EGRESS_MAX_STREAM_SECONDS:
        limits.append(TimeLimit(timedelta(seconds=settings.EGRESS_MAX_STREAM_SECONDS), "stream"))
    return limits


def time_limit(job: EgressJob) -> TimeLimit | None:
    """The shortest limit among the job's outputs (the first reached ends the egress)."""
    return min(_limits(job), key=lambda limit: limit.length, default=None)


@dataclass(frozen=True)
class Capacity:
    """How many egress run or are starting now (`busy`) against EGRESS_CONCURRENCY_LIMIT."""

    busy: int
    limit: int

    def fits(self, wanted: int) -> bool:
        return not self.limit or self.busy + wanted <= self.limit


def capacity() -> Capacity:
    """The egress LiveKit runs for the dashboard now, and those it is being asked to start."""
    limit = settings.EGRESS_CONCURRENCY_LIMIT
    if not limit:
        return Capacity(0, 0)
    running = EgressJob.objects.filter(status__in=EgressJob.ACTIVE_STATUSES).count()
    running += EgressJob.objects.filter(launch_state=LaunchState.LAUNCHING).count()
    return Capacity(running, limit)


def check_capacity() -> None:
    """ValidationError when one more egress would pass EGRESS_CONCURRENCY_LIMIT."""
    room = capacity()
    if not room.fits(1):
        raise ValidationError(
            f"{room.busy} of the {room.limit} egress your LiveKit plan runs at once are busy "
            "(EGRESS_CONCURRENCY_LIMIT): stop one first, then start this again."
        )
