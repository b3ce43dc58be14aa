"""The reconciler: what LiveKit says now, for every job the dashboard believes unfinished.

Webhooks can be lost (a dashboard restart, a network split, no webhook URL configured). One run
lists LiveKit's active egress, claims a batch of unfinished jobs, and folds LiveKit's view of each
into it through the ledger's monotonic path. It flags jobs stuck in STARTING, running jobs
LiveKit no longer knows and running jobs LiveKit has reported no change of for long, adopts
egress started elsewhere as external jobs, settles webhooks that waited for their launch, and
looks again for launches LiveKit never answered (or whose Start call was cut short by the
process stopping), stops jobs past their maximum duration (`max_duration`), follows the running
audio sessions' rooms (`audio.follow_audio_sessions`), and starts the room rules of rooms whose
room_started webhook never came (`room_rules`).

Several workers may run at once: a job is claimed with a conditional update (free, or its
claim expired) and only the worker holding the claim checks it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from livekit.protocol import egress

from egress_app import events
from egress_app.actions import audio, ledger, room_rules
from egress_app.actions.launches import recheck_launch
from egress_app.actions.max_duration import stop_at_limit
from egress_app.livekit import LiveKitError, get_livekit_client
from egress_app.models import EgressJob, EgressStatus, JobFlag, LaunchState

logger = logging.getLogger(__name__)
# How long a launch LiveKit never answered is looked for: an egress that has not turned up by
# then is not going to (and each look costs a ListEgress call).
UNKNOWN_LOOKED_FOR = timedelta(days=1)


@dataclass
class Run:
    """What one run did (the worker prints it)."""

    claimed: int = 0
    applied: int = 0
    flagged: int = 0
    adopted: int = 0
    settled: int = 0
    tapped: int = 0
    ruled: int = 0
    stopped: int = 0  # at their maximum duration (max_duration.py)
    errors: list[str] = field(default_factory=list)


def reconcile() -> Run:
    run = Run()
    token = uuid.uuid4()
    jobs = claim_jobs(token)
    run.claimed = len(jobs)
    try:
        active = _list(active=True)
    except LiveKitError as error:
        run.errors.append(error.plain)
        release(token)
        return run
    try:
        by_id = {info.egress_id: info for info in active}
        for job in jobs:
            _check(job, by_id, run)
        # After the checks: an unknown launch's egress is that launch's, not an external job.
        run.adopted = _adopt_unknown(active)
        run.settled = ledger.settle_pending()
    finally:
        release(token)
    # After the checks: a tap whose egress failed reads as failed by now.
    run.tapped = audio.follow_audio_sessions()
    run.ruled = _catch_up_rules(run)
    return run


def _catch_up_rules(run: Run) -> int:
    """Rooms whose room_started webhook never came: their room rules start now (once per room
    session: the rule's claim), and claims whose Start was lost are resumed. One ListRooms
    call, only while a rule is enabled."""
    resumed = room_rules.resume_claims()
    if not room_rules.any_enabled():
        return resumed
    try:
        rooms = async_to_sync(get_livekit_client().list_rooms)()
    except LiveKitError as error:
        run.errors.append(error.plain)
        return resumed
    return resumed + room_rules.catch_up(rooms)


# --- claims -------------------------------------------------------------------------------------
def _unfinished(now: datetime) -> Q:
    running = Q(status__in=EgressJob.ACTIVE_STATUSES, launch_state=LaunchState.LAUNCHED)
    abandoned = Q(
        launch_state=LaunchState.LAUNCHING, created_at__lt=ledger.launches_waiting_since(now)
    )
    unknown = Q(launch_state=LaunchState.UNKNOWN, created_at__gte=now - UNKNOWN_LOOKED_FOR)
    return running | abandoned | unknown


def claim_jobs(token: uuid.UUID) -> list[EgressJob]:
    """Claim up to a batch of unfinished jobs no other worker holds (a conditional update)."""
    now = timezone.now()
    interval = float(settings.EGRESS_WORKER_INTERVAL)
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    due = Q(checked_at__isnull=True) | Q(checked_at__lte=now - timedelta(seconds=interval / 2))
    candidates = EgressJob.objects.filter(_unfinished(now), free, due).order_by("checked_at", "pk")
    ids = list(candidates.values_list("pk", flat=True)[: settings.EGRESS_WORKER_BATCH])
    lease = now + timedelta(seconds=max(30.0, 6 * interval))
    EgressJob.objects.filter(free, pk__in=ids).update(claim=token, claimed_until=lease)
    return list(EgressJob.objects.filter(claim=token))


def release(token: uuid.UUID) -> None:
    EgressJob.objects.filter(claim=token).update(
        claim=None, claimed_until=None, checked_at=timezone.now()
    )


# --- checks -------------------------------------------------------------------------------------
def _list(*, egress_id: str = "", active: bool = False) -> list[egress.EgressInfo]:
    method = get_livekit_client().list_egress
    return list(async_to_sync(method)(egress_id=egress_id, active=active))


def _adopt_unknown(active: Sequence[egress.EgressInfo]) -> int:
    """Active egress no job knows: external jobs (or pending while a launch waits)."""
    ids = [info.egress_id for info in active]
    known = set(EgressJob.objects.filter(egress_id__in=ids).values_list("egress_id", flat=True))
    adopted = 0
    for info in active:
        if info.egress_id not in known and ledger.observe(info).changed:
            adopted += 1
    return adopted


def _check(job: EgressJob, active: dict[str, egress.EgressInfo], run: Run) -> None:
    if job.launch_state != LaunchState.LAUNCHED:
        if recheck_launch(job).launch_state == LaunchState.LAUNCHED:
            run.applied += 1
        return
    info = active.get(job.egress_id or "")
    if info is None and job.egress_id:
        try:  # ended meanwhile? LiveKit still lists an egress by id for a while after it ends
            info = next(iter(_list(egress_id=job.egress_id)), None)
        except LiveKitError as error:
            if error.code != "not_found":  # LiveKit answers not_found for an id it forgot
                run.errors.append(error.plain)
                return
    if info is not None:
        folded = ledger.observe(info)
        run.applied += folded.changed
        job = folded.job or job
    if job.is_active:
        run.flagged += flag(job, known=info is not None)
    if info is not None:
        run.stopped += stop_at_limit(job)


def wanted_flag(job: EgressJob, *, known: bool) -> str:
    """The flag a running job should carry after a check (blank: nothing wrong): unknown to
    LiveKit, still starting long after it was asked for, or running with no news for long."""
    if not known:
        return JobFlag.LOST
    waited = timezone.now() - (job.started_at or job.created_at)
    stuck = timedelta(seconds=float(settings.EGRESS_STUCK_STARTING_AFTER))
    if job.status == EgressStatus.STARTING and waited > stuck:
        return JobFlag.STUCK_STARTING
    if job.status == EgressStatus.ACTIVE and _silent(job):
        return JobFlag.SILENT
    return ""


def _silent(job: EgressJob) -> bool:
    """No change from LiveKit (its `updated_at`) for EGRESS_SILENT_AFTER seconds (0: never)."""
    after = float(settings.EGRESS_SILENT_AFTER)
    last = job.updated_at or job.started_at or job.created_at
    return after > 0 and timezone.now() - last > timedelta(seconds=after)


def flag(job: EgressJob, *, known: bool) -> int:
    """Bring the job's flag in line with this check (`known`: LiveKit lists its egress); 1 when
    it was newly flagged. Decided again on the locked row, which a webhook may have changed
    since, and cleared when the check no longer bears it out (LiveKit lists a LOST egress again,
    even unchanged: no news to clear it on the way in)."""
    with transaction.atomic():
        row = EgressJob.objects.select_for_update().get(pk=job.pk)
        which = wanted_flag(row, known=known) if row.is_active else ""
        if row.flag == which:
            return 0
        row.flag, row.flagged_at = which, (timezone.now() if which else None)
        row.save(update_fields=["flag", "flagged_at"])
        if which:
            ledger.record_flag(row, JobFlag(which))
        events.announce_job(row, was_active=True)
    if not which:
        return 0
    logger.warning("Job %s (%s) flagged: %s", job.pk, job.egress_id, JobFlag(which).explanation)
    return 1
