"""A job's kinds and states, as LiveKit names them, and which jobs count as running."""

from __future__ import annotations

from django.db import models
from livekit.protocol import egress

from egress_app.livekit.enums import name_of


class EgressKind(models.TextChoices):
    ROOM_COMPOSITE = "room_composite", "Room composite"
    WEB = "web", "Web page"
    PARTICIPANT = "participant", "Participant"
    TRACK_COMPOSITE = "track_composite", "Track composite"
    TRACK = "track", "Track"
    UNIFIED = "unified", "Unified"


class EgressStatus(models.TextChoices):
    """LiveKit's EgressStatus, by name."""

    STARTING = "EGRESS_STARTING", "Starting"
    ACTIVE = "EGRESS_ACTIVE", "Active"
    ENDING = "EGRESS_ENDING", "Ending"
    COMPLETE = "EGRESS_COMPLETE", "Complete"
    FAILED = "EGRESS_FAILED", "Failed"
    ABORTED = "EGRESS_ABORTED", "Aborted"
    LIMIT_REACHED = "EGRESS_LIMIT_REACHED", "Limit reached"


def status_of(info: egress.EgressInfo) -> str:
    """The info's status as a job keeps it: LiveKit's name, or the number of a status this
    version of the protocol does not define (a newer LiveKit's), never refused."""
    return name_of(egress.EgressStatus, info.status)


def status_label(status: str) -> str:
    """What a page shows for a kept status: its label, or "unknown (7)"."""
    return EgressStatus(status).label if status in EgressStatus.values else f"unknown ({status})"


class LaunchState(models.TextChoices):
    """Where the dashboard's Start call stands; `status` only describes an egress that exists."""

    LAUNCHING = "launching", "Launching"
    LAUNCHED = "launched", "Launched"
    REFUSED = "refused", "Refused by LiveKit"
    UNKNOWN = "unknown", "No answer from LiveKit"


class JobFlag(models.TextChoices):
    """Why the reconciler thinks a job needs a person; blank when nothing is wrong."""

    STUCK_STARTING = "stuck_starting", "Stuck in STARTING"
    LOST = "lost", "Unknown to LiveKit"
    SILENT = "silent", "Active with no news"

    @property
    def explanation(self) -> str:
        return {
            JobFlag.STUCK_STARTING: (
                "Still starting long after it was asked for: egress may have no worker free, "
                "or the egress is stuck."
            ),
            JobFlag.LOST: (
                "LiveKit no longer knows this egress: it ended without telling the dashboard, "
                "or LiveKit restarted."
            ),
            JobFlag.SILENT: (
                "LiveKit still lists this egress as running, but nothing about it has changed "
                "for a long time: it may have hung, or outlived its room."
            ),
        }[self]


class Triage(models.TextChoices):
    """Where support stands with a job that needs a person (blank: still open)."""

    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


ACTIVE_STATUSES = (EgressStatus.STARTING, EgressStatus.ACTIVE, EgressStatus.ENDING)


def running_jobs(prefix: str = "") -> models.Q:
    """Jobs that hold on to their profile and destinations: an egress still running, or a Start
    call still waiting for LiveKit's answer (no status yet)."""
    return models.Q(**{f"{prefix}status__in": ACTIVE_STATUSES}) | models.Q(
        **{f"{prefix}launch_state": LaunchState.LAUNCHING}
    )
