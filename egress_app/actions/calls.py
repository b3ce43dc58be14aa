"""A LiveKit call on an egress job, and the job row written around it.

No transaction stays open during a LiveKit call: the job row is written before the call (so a
second submit of the same launch finds it) and again after it, each time in a short transaction
on a freshly locked row. A LiveKit error is kept on the job in plain words (`error`), with its
HTTP status (`error_code`) and `Twirp <code>: <message>` (`details`), then raised as JobError.
Stream URLs in LiveKit's texts are redacted before anything is stored: they may carry keys.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from asgiref.sync import async_to_sync
from django.db import transaction
from livekit.protocol import egress

from egress_app import events
from egress_app.actions import ledger
from egress_app.livekit import LiveKitError, get_livekit_client
from egress_app.livekit.scrub import hide_stream_urls
from egress_app.models import EgressJob, LedgerSource, stored_secrets

_MISSING_FIELD = re.compile(r"request has missing or invalid field: (.+)", re.IGNORECASE)


class JobError(Exception):
    """LiveKit refused an action on a job, or the job's state rules it out.

    `job` is the row as it is now (with the LiveKit error kept when there was one).
    """

    def __init__(self, job: EgressJob, message: str) -> None:
        super().__init__(message)
        self.job = job
        self.message = message


class LaunchError(JobError):
    """LiveKit refused the start, or never answered and no egress was found for it."""

    def __init__(self, job: EgressJob) -> None:
        super().__init__(job, job.error)


# --- LiveKit ------------------------------------------------------------------------------------
def _call(method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run one async client method from sync code (views, commands)."""
    return async_to_sync(method)(*args, **kwargs)


def _fetch_info(job: EgressJob) -> egress.EgressInfo | None:
    """LiveKit's current view of the job's egress, None when it cannot be had."""
    try:
        items = _call(get_livekit_client().list_egress, egress_id=job.egress_id)
    except LiveKitError:
        return None
    return next((item for item in items if item.egress_id == job.egress_id), None)


def _plain(error: LiveKitError, room_name: str) -> str:
    if error.code == "invalid_argument" and (match := _MISSING_FIELD.search(error.message)):
        field = match.group(1).strip()
        return f"LiveKit rejected the request: the field “{field}” is missing or invalid."
    if error.code == "not_found" and "room does not exist" in error.message:
        return (
            f"The room “{room_name}” does not exist (any more): LiveKit records only a room "
            "that is open."
        )
    return error.plain


def _twirp(error: LiveKitError) -> str:
    return f"Twirp {error.code}: {error.message}"


# --- jobs ---------------------------------------------------------------------------------------
def _fresh(job: EgressJob) -> EgressJob:
    return EgressJob.objects.get(pk=job.pk)


def _locked(job: EgressJob) -> EgressJob:
    return EgressJob.objects.select_for_update().get(pk=job.pk)


def _change(job: EgressJob, change: Callable[[EgressJob], object]) -> EgressJob:
    """Apply `change` to the freshly locked row and save it, in one short transaction; browsers
    hear of it once it commits."""
    with transaction.atomic():
        job = _locked(job)
        was_active = job.is_active
        change(job)
        job.save()
        events.announce_job(job, was_active=was_active)
    return job


def _clear_error(job: EgressJob) -> None:
    job.error, job.error_code, job.details = "", None, ""


def _set_error(job: EgressJob, error: LiveKitError, urls: Sequence[str]) -> None:
    """LiveKit's error on the job, in plain words, with no stream URL in it whole and no
    stored secret in it at all."""
    secrets = stored_secrets()
    job.error = hide_stream_urls(_plain(error, job.room_name), urls, secrets)
    job.error_code = error.status
    job.details = hide_stream_urls(_twirp(error), urls, secrets)


def _with_info(
    job: EgressJob, info: egress.EgressInfo, change: Callable[[EgressJob], object] | None = None
) -> EgressJob:
    """After a call LiveKit accepted: its answer folded in the way webhooks are (a flag it
    answers is cleared), the previous error gone, and the answer in the ledger."""
    outcomes: list[str] = []

    def apply(row: EgressJob) -> None:
        _clear_error(row)
        if change is not None:
            change(row)
        outcomes.append(ledger.take(row, info))

    with transaction.atomic():
        job = _change(job, apply)
        ledger.record_observation(info, ledger.Folded(job, outcomes[-1]), LedgerSource.API)
    return job
