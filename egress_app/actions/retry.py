"""Retry: launch a finished job again, with the same configuration.

The configuration is the job's as it was launched. The storage profile and stream destinations
it names are read again (their current secrets: a key fixed since counts); the ad-hoc stream URLs
and a track's WebSocket address, which the dashboard keeps only encrypted on the job, are the
job's own. Who may retry which job is `egress_app.roles.may_retry`, checked by the views and
again here.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from django.core.exceptions import ValidationError

from egress_app.actions.egress import WEBSOCKET_REF, launched_with, require_person, start_egress
from egress_app.actions.launches import launched_adhoc_urls
from egress_app.actions.vault import Actor
from egress_app.crypto import SecretKeyError
from egress_app.models import EgressJob, LaunchState
from egress_app.roles import may_retry

EXTERNAL = (
    "This job was started outside the dashboard (auto egress, the CLI or another app): the "
    "dashboard has no configuration to start it again with."
)
LAUNCHING = "This job is still waiting for LiveKit's answer to its start: it cannot be retried yet."
# The reconciler looks for such an egress for a day (reconcile.UNKNOWN_LOOKED_FOR).
UNKNOWN = (
    "LiveKit never answered this job's start, so its egress may still appear: the dashboard "
    "keeps looking for it for a day after the launch, and a retry could start it twice. To "
    "start it again on purpose, use Clone and edit."
)
NOT_KEPT = (
    "A stream URL or WebSocket address this job started with is no longer kept (it was removed "
    "while the job ran): use Clone and edit, and type it again."
)
NOT_YOURS = "Only the person who started this job, support or an admin may retry it."
UNREADABLE = (
    "The dashboard can no longer read this job's stream URLs (its encryption key is gone): use "
    "Clone and edit, and type them again."
)


def retry_egress(actor: Actor, job: EgressJob, *, launch_token: str | uuid.UUID) -> EgressJob:
    """Start `job` again as a new job linked to it (`retry_of`), once per `launch_token`.

    A token seen before returns its job as it stands, before anything else is checked (see
    `start_egress`). ValidationError in plain words, nothing written, when the job is running,
    still launching or never answered by LiveKit, was started outside the dashboard, or its
    configuration no longer holds (a profile or destination deleted since, say); PermissionDenied
    for a person `may_retry` refuses; LaunchError, the new job keeping LiveKit's refusal, when
    LiveKit refuses.
    """
    if (existing := launched_with(launch_token)) is not None:
        return existing
    job = EgressJob.objects.get(pk=job.pk)
    require_person(actor, job, may_retry, NOT_YOURS)
    _require_finished(job)
    config, adhoc_urls = _as_launched(job)
    return start_egress(
        actor, config, launch_token=launch_token, adhoc_urls=adhoc_urls, retry_of=job
    )


def _require_finished(job: EgressJob) -> None:
    if not job.launched_here:
        raise ValidationError(EXTERNAL)
    if job.is_active:
        raise ValidationError(
            f"This job is still running ({job.status_label.lower()}): stop it, or wait for it "
            "to end, before retrying it."
        )
    if job.launch_state == LaunchState.LAUNCHING:
        raise ValidationError(LAUNCHING)
    if job.launch_state == LaunchState.UNKNOWN:
        raise ValidationError(UNKNOWN)


def _as_launched(job: EgressJob) -> tuple[dict[str, Any], list[str]]:
    """The job's configuration with its kept secrets put back, and the ad-hoc stream URLs it
    was launched with."""
    try:
        kept = job.secrets()
    except SecretKeyError:
        raise ValidationError(UNREADABLE) from None
    config = copy.deepcopy(job.config)
    adhoc_urls = launched_adhoc_urls(job, kept)
    needed = list(adhoc_urls)
    track = config.get("track") or {}
    if track.get("websocket_url"):  # kept redacted in the configuration, whole in the secrets
        track["websocket_url"] = kept.get(WEBSOCKET_REF, "")
        needed.append(track["websocket_url"])
    if not all(needed):
        raise ValidationError(NOT_KEPT)
    return config, adhoc_urls
