"""A launch LiveKit never answered: the egress its Start may have created, looked for and adopted.

A Start that timed out, or whose connection closed, may still have created an egress; it is never
sent again. The egress is looked for at once (`_reconcile`) and, while the job stays `unknown`,
again by the reconciler (`recheck_launch`); exactly one match is adopted as the launch's egress.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from google.protobuf.message import Message
from livekit.protocol import egress

from egress_app.actions import ledger
from egress_app.actions.calls import LaunchError, _call, _change, _fresh, _twirp, _with_info
from egress_app.launch.requests import build_start_call
from egress_app.livekit import LiveKitError, LiveKitTimeout, get_livekit_client, times
from egress_app.models import EgressJob, LaunchState

logger = logging.getLogger(__name__)

# An egress LiveKit lists after a Start that timed out counts as that launch's only if it
# started no earlier than this before the job row was written (allows for clock skew).
ADOPT_CLOCK_MARGIN = timedelta(seconds=5)

# Where a Start request says where media goes; everything else says what is recorded.
_OUTPUT_FIELDS = (
    "file",
    "stream",
    "segments",
    "file_outputs",
    "stream_outputs",
    "segment_outputs",
    "image_outputs",
    "outputs",
    "storage",
    "websocket_url",
    "webhooks",
)


# --- adopting the egress ------------------------------------------------------------------------
def _launched(job: EgressJob, info: egress.EgressInfo) -> EgressJob:
    def adopt(row: EgressJob) -> None:
        row.egress_id = info.egress_id
        row.launch_state = LaunchState.LAUNCHED

    # Webhooks may have come before this answer: they waited in the ledger for the egress id.
    return ledger.apply_pending(_with_info(job, info, adopt))


# --- a Start that got no answer -----------------------------------------------------------------
def _reconcile(job: EgressJob, request: Message, error: LiveKitError) -> EgressJob:
    """Never retry a Start that may have worked: look for the egress it created instead.

    Matching heuristic (LiveKit has no idempotency key): an egress listed for the job's room
    (a) started (`started_at`, when LiveKit accepted the request) no earlier than the job row
    was written minus ADOPT_CLOCK_MARGIN, (b) echoes a request of the same type (same Start
    RPC, and for StartEgress the same source) with equal non-output fields (layout, identity,
    track ids, encoding, web URL...; outputs are left out as LiveKit redacts them), and (c) is
    not already some job's egress. Exactly one such egress is adopted; none, or several (two
    identical launches at once), leaves the job `unknown` for a person to check.
    """
    try:
        listed = _call(get_livekit_client().list_egress, room_name=job.room_name)
    except LiveKitError as list_error:
        outcome = f"LiveKit's egress list could not be read either: {list_error.plain}"
        raise _unknown(job, error, outcome) from None
    matches = _candidates(job, request, listed)
    if len(matches) == 1:
        try:
            return _launched(job, matches[0])
        except IntegrityError:  # adopted by another job meanwhile
            matches = []
    if matches:
        outcome = f"{len(matches)} egresses could be this launch, so none was adopted."
        raise _unknown(job, error, outcome)
    raise _unknown(job, error, "no egress was found for this launch.")


def _candidates(
    job: EgressJob,
    request: Message,
    listed: Sequence[egress.EgressInfo],
    *,
    from_external: bool = False,
) -> list[egress.EgressInfo]:
    since = job.created_at - ADOPT_CLOCK_MARGIN
    since_ns = times.to_ns(since)
    ids = [info.egress_id for info in listed]
    owners = EgressJob.objects.filter(egress_id__in=ids)
    if from_external:  # an egress recorded as external meanwhile may still be this launch's
        owners = owners.exclude(external=True, created_at__gte=job.created_at)
    owned = set(owners.values_list("egress_id", flat=True))
    return [
        info
        for info in listed
        if info.egress_id not in owned
        and info.started_at >= since_ns
        and _same_request(info, request)
    ]


def _same_request(info: egress.EgressInfo, request: Message) -> bool:
    field = info.WhichOneof("request")
    if field is None:
        return False
    echoed = getattr(info, field)
    if echoed.DESCRIPTOR.full_name != request.DESCRIPTOR.full_name:
        return False
    return _without_outputs(echoed) == _without_outputs(request)


def _without_outputs(request: Message) -> Message:
    copy = type(request)()
    copy.CopyFrom(request)
    for name in _OUTPUT_FIELDS:
        if name in copy.DESCRIPTOR.fields_by_name:
            copy.ClearField(name)
    return copy


def _unknown(job: EgressJob, error: LiveKitError, outcome: str) -> LaunchError:
    """The job marked `unknown`, as the LaunchError to raise."""
    if isinstance(error, LiveKitTimeout):
        seconds = float(settings.LIVEKIT_START_TIMEOUT)
        what = f"LiveKit did not answer within {seconds:g} s"
    else:
        what = "The connection to LiveKit closed before it answered"
    plain = f"{what}; {outcome} It may still appear: check the job list before starting it again."

    def unknown(row: EgressJob) -> None:
        row.launch_state = LaunchState.UNKNOWN
        row.error, row.error_code, row.details = plain, error.status, _twirp(error)

    return LaunchError(_change(job, unknown))


def recheck_launch(job: EgressJob) -> EgressJob:
    """Look again for the egress of a launch LiveKit never answered (the reconciler's call):
    the job adopts it when exactly one matches, as `_reconcile` decides. Otherwise it stays
    `unknown`; a launch still `launching` long after its Start call's timeout (the process
    making the call stopped) becomes `unknown`."""
    try:
        listed = _call(get_livekit_client().list_egress, room_name=job.room_name)
    except LiveKitError as error:
        logger.info("Could not look again for job %s's egress: %s", job.pk, error.plain)
        return job
    try:
        request = _rebuilt_request(job)
    except (ValidationError, ValueError, KeyError) as error:
        # Its kind only: the message could quote a kept stream URL.
        logger.info("Could not rebuild job %s's request: %s", job.pk, type(error).__name__)
        return job
    matches = _candidates(job, request, listed, from_external=True)
    if len(matches) == 1:
        try:
            with transaction.atomic():
                _take_from_external(job, matches[0].egress_id)
                return _launched(job, matches[0])
        except IntegrityError:  # adopted by another job meanwhile
            return _fresh(job)
    if job.launch_state == LaunchState.LAUNCHING:
        return _change(job, _abandoned)
    return job


def _take_from_external(job: EgressJob, egress_id: str) -> None:
    """The external job recorded for what turns out to be this launch's egress (its webhooks
    came while the launch was unknown) gives way: its ledger moves to the launch's job."""
    external = EgressJob.objects.filter(egress_id=egress_id, external=True).first()
    if external is not None:
        external.ledger.update(job=job)
        external.delete()


def _abandoned(job: EgressJob) -> None:
    """A launch whose Start call never came back (the process stopped during it)."""
    if job.launch_state == LaunchState.LAUNCHING:
        job.launch_state = LaunchState.UNKNOWN
        job.error = (
            "The dashboard stopped waiting for LiveKit's answer to this Start and no egress was "
            "found for it. It may still appear: check the job list before starting it again."
        )


def _rebuilt_request(job: EgressJob) -> Message:
    """The Start request the job sent, outputs aside (they are not compared)."""
    adhoc = launched_adhoc_urls(job, job.secrets())
    destinations = list(job.destinations.all())
    call = build_start_call(
        job.config, profile=job.storage_profile, destinations=destinations, adhoc_urls=adhoc
    )
    return call.request


def launched_adhoc_urls(job: EgressJob, kept: Mapping[str, str]) -> list[str]:
    """The ad-hoc stream URLs the job was launched with, from its kept secrets `kept`: one per
    ad-hoc URL its configuration shows, in launch order (`adhoc:<n>`), not those added while it
    ran; "" for one no longer kept (removed while it ran)."""
    stream = (job.config.get("outputs") or {}).get("stream") or {}
    return [kept.get(f"adhoc:{n}", "") for n in range(len(stream.get("adhoc") or []))]
