"""What a room card on the Live page shows of the egress running in its room, and what its
Record and Go live actions would start.

The egress come from LiveKit's list (the overview, read on every refresh); each is joined with
the dashboard's job for it, which holds the stream results the webhooks keep current (stream
URLs and keys already hidden), who may stop it, and its page. Record and Go live build the
launch form's own configuration (`launch_forms`), so the launch rules apply unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.db.models import Exists, OuterRef
from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from dashboard import fragments
from dashboard.launch_forms import config_from_data, default_initial
from dashboard.overview import EgressRow, Overview
from egress_app.crypto import SecretKeyError
from egress_app.launch.config import GivenConfig
from egress_app.launch.filenames import WrittenName, written_names
from egress_app.livekit.redact import redact_stream_url
from egress_app.models import AudioTap, EgressJob, Recipe, StorageProfile, StreamDestination
from egress_app.roles import MANAGE_STORAGE, may_control, perm

# What a card needs of a job: its state, times, results and owner (no configuration secrets).
JOB_FIELDS = (
    "pk",
    "encrypted_secrets",
    "adhoc_outputs",
    "egress_id",
    "status",
    "launch_state",
    "started_by",
    "started_at",
    "ended_at",
    "updated_at",
    "results",
    "kind",
    "config",  # its time limits (`fragments.time_left`)
)


@dataclass(frozen=True)
class StreamHealth:
    """One stream output as LiveKit last reported it (`StreamInfo`): where (its URL with the key
    hidden), its status, its error, how many times egress retried it, and its times."""

    url: str
    name: str  # the saved destination's name, or "" (an ad-hoc URL, a stream added elsewhere)
    status: str
    error: str
    retries: int
    started_at: datetime | None
    duration: timedelta | None

    @property
    def failed(self) -> bool:
        return self.status == "FAILED"


@dataclass(frozen=True)
class CardEgress:
    """An egress running in the room, as its card shows it."""

    row: EgressRow
    job: EgressJob | None
    elapsed: timedelta | None
    streams: list[StreamHealth] = field(default_factory=list)
    may_stop: bool = False
    time_left: fragments.TimeLeft | None = None


def card_egress(
    overview: Overview, user: AbstractUser | AnonymousUser
) -> dict[str, list[CardEgress]]:
    """Each room's running egress (by room name), with the job the dashboard keeps of each."""
    ids = [row.egress_id for row in overview.egress]
    found = EgressJob.objects.filter(egress_id__in=ids).only(*JOB_FIELDS)
    found = found.annotate(tap=Exists(AudioTap.objects.filter(job=OuterRef("pk"))))
    jobs = found.prefetch_related("destinations") if ids else []
    by_id = {job.egress_id: job for job in jobs}
    cards: dict[str, list[CardEgress]] = {}
    for row in overview.egress:
        job = by_id.get(row.egress_id)
        # An audio session's taps are its own (the card's Listening badge leads to it, where
        # it is stopped whole): listed with the active egress below the rooms, not here.
        if job is None or not getattr(job, "tap", False):
            cards.setdefault(row.room_name, []).append(_card(row, job, user))
    return cards


def _card(row: EgressRow, job: EgressJob | None, user: AbstractUser | AnonymousUser) -> CardEgress:
    if job is None:  # not known to the dashboard yet: LiveKit's own start time
        return CardEgress(row, None, _since(row.started_at))
    results = (job.results or {}).get("streams") or []
    names = _destination_names(job) if results else {}
    streams = [_health(result, names) for result in results]
    may_stop = job.can_stop and may_control(user, job)
    elapsed = fragments.duration(job) or _since(row.started_at)
    return CardEgress(row, job, elapsed, streams, may_stop, fragments.time_left(job))


def _since(started_at: datetime | None) -> timedelta | None:
    if started_at is None:
        return None
    return timedelta(seconds=max(0, round((timezone.now() - started_at).total_seconds())))


def _destination_names(job: EgressJob) -> dict[str, str]:
    """Each saved destination's name by its URL as LiveKit reports it (the key masked the same
    way), so a stream result names the destination it goes to."""
    try:
        kept = job.secrets()
    except SecretKeyError:  # a key rotated away: the masked URLs are shown alone
        return {}
    labels = dict(job.stream_outputs())
    return {
        redact_stream_url(url): labels[ref]
        for ref, url in kept.items()
        if ref.startswith("destination:") and ref in labels
    }


def _health(result: dict[str, Any], names: dict[str, str]) -> StreamHealth:
    duration = result.get("duration") or 0
    url = str(result.get("url") or "")
    return StreamHealth(
        url=url,
        name=names.get(url, ""),
        status=str(result.get("status") or ""),
        error=str(result.get("error") or ""),
        retries=int(result.get("retries") or 0),
        started_at=parse_datetime(str(result.get("started_at") or "")),
        duration=timedelta(seconds=round(float(duration))) if duration else None,
    )


# --- Record -------------------------------------------------------------------------------------
def record_profile() -> StorageProfile | None:
    """The storage profile Record uploads to: the default one, else the first by name."""
    return StorageProfile.objects.order_by("-is_default", "name").first()


def record_config(room: str, profile_id: str) -> GivenConfig:
    """A room composite of `room` to an MP4 through the storage profile `profile_id`: the
    launch form's defaults."""
    data = default_initial([]) | {
        "room_name": room,
        "storage_profile_id": profile_id,
        "outputs__file": "on",
    }
    return config_from_data(data)


def record_preview(config: GivenConfig, profile: StorageProfile) -> list[WrittenName]:
    """The names egress will write: the launch page's preview."""
    return written_names(config, templates={profile.pk: profile.path_template})


def may_add_storage(user: AbstractUser | AnonymousUser) -> bool:
    return user.has_perm(perm(MANAGE_STORAGE))


# --- Go live ------------------------------------------------------------------------------------
def stream_recipes() -> list[Recipe]:
    """The recipes that stream (Go live picks among them)."""
    recipes = Recipe.objects.only("pk", "name", "config")
    return [recipe for recipe in recipes if (recipe.config.get("outputs") or {}).get("stream")]


def destinations() -> list[StreamDestination]:
    return list(StreamDestination.objects.only("pk", "name").order_by("name"))


def stream_config(room: str, destination_ids: Iterable[str]) -> GivenConfig:
    """A room composite of `room` streamed to saved destinations: the launch form's defaults."""
    data = QueryDict(mutable=True)
    data.update(default_initial([]) | {"room_name": room, "outputs__stream": "on"})
    data.setlist("outputs__stream__destination_ids", list(destination_ids))
    data["storage_profile_id"] = ""
    return config_from_data(data)
