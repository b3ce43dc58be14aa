"""The event ledger: whatever LiveKit tells the dashboard is recorded, then folded into its job.

Three sources leave rows: webhooks (verified, or refused with the reason), the reconciler's
observations, and LiveKit's answers to the dashboard's own calls. Egress state is applied through
`EgressJob.apply_info`, monotonically by `EgressInfo.updated_at`: duplicates, reordering and late
polls never move a job backwards. An egress no job knows becomes an external job, unless a launch
is still waiting for LiveKit's answer: then the event is kept `pending` and folded in when the
launch learns its egress id (or by the reconciler).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    transaction,
)
from django.db.models import QuerySet
from django.utils import timezone
from google.protobuf import json_format
from livekit.protocol import egress, models, webhook

from egress_app import events
from egress_app.actions import sessions
from egress_app.actions.sessions import ROOM_GONE
from egress_app.livekit.scrub import Secrets, info_dict, scrub, scrub_info, stream_urls_in
from egress_app.models import (
    Compiled,
    EgressJob,
    EgressKind,
    EgressStatus,
    JobFlag,
    LaunchState,
    LedgerEntry,
    LedgerOutcome,
    LedgerSource,
    RoomRule,
    status_of,
    stored_secrets,
)

logger = logging.getLogger(__name__)

# How long after its row was written a launch may still learn its egress id (its Start call's
# timeout and a margin for clock skew): meanwhile an unknown egress may be that launch's.
LAUNCH_MARGIN = timedelta(seconds=5)
NO_EGRESS_ID = "An egress ended without an egress id (a failed auto egress): kept as a job."
EXTERNAL = "Started outside the dashboard: recorded as an external job."
PENDING = "No job has this egress yet; a launch is still waiting for LiveKit's answer."


@dataclass(frozen=True)
class Folded:
    """What an EgressInfo did to the jobs."""

    job: EgressJob | None
    outcome: str
    reason: str = ""

    @property
    def changed(self) -> bool:
        return self.outcome == LedgerOutcome.APPLIED


# --- webhooks -----------------------------------------------------------------------------------
def record_refused(reason: str, *, remote_addr: str, size: int) -> LedgerEntry:
    """A webhook refused (bad signature, expired, too large...): the reason, never the body."""
    return LedgerEntry.objects.create(
        source=LedgerSource.WEBHOOK,
        outcome=LedgerOutcome.REFUSED,
        reason=reason,
        remote_addr=remote_addr[:64],
        size=size,
    )


@dataclass(frozen=True)
class Unstorable:
    """A verified webhook the dashboard cannot keep as it is: refused, `reason` says why (the
    answer's text; never a value of the webhook)."""

    reason: str


Answer = bool | Unstorable  # recorded (True), a duplicate (False), or refused
Received = tuple[webhook.WebhookEvent, int]  # a verified webhook and its body's size

# What the ledger's columns hold of LiveKit's ids and names, far more than LiveKit makes: an id
# is a prefix and 12 random characters (livekit/protocol utils/guid/id.go; `EV_` for an event,
# livekit/livekit pkg/telemetry/events.go), an event name at most 30 (livekit/protocol
# webhook/consts.go). A longer value is not LiveKit's: refused on every database alike.
COLUMNS = {"event_id": "event id", "event": "event type", "egress_id": "egress id"}


def receive_webhook(event: webhook.WebhookEvent, *, size: int = 0) -> Answer:
    """Record a verified webhook and apply it: False when its id was seen before (a duplicate
    is acknowledged and ignored), Unstorable when it cannot be kept."""
    return receive_webhooks([(event, size)])[0]


def receive_webhooks(received: Sequence[Received]) -> list[Answer]:
    """Record verified webhooks (each with its body's size) and apply them, in one transaction:
    for each, True when recorded, False for a duplicate id. The webhooks a server receives
    at once are written together: each job is read and saved once, and browsers hear of it
    once, with its newest state. A webhook the dashboard cannot store as it is (a value longer
    than its column, one the database refuses) is Unstorable, and every other one still lands;
    the database being unavailable raises."""
    refused = [unstorable(event) for event, _ in received]
    written = iter(_written([one for one, why in zip(received, refused, strict=True) if not why]))
    return [why or next(written) for why in refused]


def unstorable(event: webhook.WebhookEvent) -> Unstorable | None:
    """Why the ledger cannot keep `event` as it is (before trying), None when it can."""
    values = {"event_id": event.id, "event": event.event, "egress_id": event.egress_info.egress_id}
    for column, value in values.items():
        limit = getattr(LedgerEntry._meta.get_field(column), "max_length", None) or 0
        if len(value) > limit:
            return Unstorable(f"{COLUMNS[column]} longer than {limit} characters")
    return None


def _written(received: Sequence[Received]) -> list[Answer]:
    if not received:
        return []
    try:
        return _receive(received)
    except (DatabaseError, ValueError) as exc:
        # Everything was rolled back: an id recorded meanwhile by another process, a deadlock
        # with one (an external job created by both), or a webhook the database refuses. One
        # at a time then, in their order, each in its own transaction.
        if len(received) > 1:
            return [answer for one in received for answer in _written([one])]
        return [_alone(received[0][0], exc)]


def _alone(event: webhook.WebhookEvent, exc: DatabaseError | ValueError) -> Answer:
    """What a webhook written alone gets when its transaction failed: a duplicate when its id
    was recorded meanwhile, the error again when the database could take nothing just now
    (answered 500: LiveKit sends it again), refused otherwise."""
    if event.id and LedgerEntry.objects.filter(event_id=event.id).exists():
        return False
    if _unavailable(exc):
        raise exc
    if isinstance(exc, ValueError):  # a value the code could not read: the traceback says where
        logger.warning("Cannot store a LiveKit %s webhook", event.event[:40], exc_info=exc)
    state = getattr(exc.__cause__, "sqlstate", None)
    return Unstorable(f"cannot store it ({' '.join(filter(None, [type(exc).__name__, state]))})")


def _unavailable(exc: Exception) -> bool:
    """Whether the database could take nothing just now (down, restarting, out of connections,
    a deadlock, a lock timeout), rather than refusing this webhook: a program limit (SQLSTATE
    class 54, such as a value too large for an index) is an OperationalError too, but a
    webhook that meets one meets it again."""
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    return not (getattr(exc.__cause__, "sqlstate", None) or "").startswith("54")


# What each batch asks, compiled once (`Compiled`): the ids already recorded, and the jobs
# locked in a fixed order, so that two batches never deadlock.
_SEEN = Compiled(lambda ids: LedgerEntry.objects.filter(event_id__in=ids).values("event_id"))
_LOCKED = Compiled(
    lambda ids: EgressJob.objects.select_for_update().filter(egress_id__in=ids).order_by("pk")
)


def _receive(received: Sequence[Received]) -> list[Answer]:
    ids = [event.id for event, _ in received if event.id]
    with transaction.atomic():
        seen = _recorded(ids)
        batch = _Batch.of(event.egress_info for event, _ in received if _about_egress(event))
        entries: list[LedgerEntry] = []
        answers: list[Answer] = []
        rooms = False
        for event, size in received:
            answers.append(not (event.id and event.id in seen))
            if not answers[-1]:
                continue
            seen.add(event.id)
            if _about_egress(event):
                folded = batch.fold(event.egress_info)
                entries.append(_egress_entry(event, size, folded))
            else:
                entries.append(_room_entry(event, size))
                rooms = True
                if event.event == "room_finished":  # its audio sessions end with it
                    sessions.end_audio_sessions(event.room.name, ROOM_GONE)
                elif event.event == "room_started":  # a room rule starts after commit
                    _rules.room_started(event.room)
        batch.save()
        LedgerEntry.insert_all(entries)
        if rooms:
            events.announce_rooms()
    return answers


def _recorded(ids: list[str]) -> set[str]:
    """Which of these event ids the ledger holds already."""
    return {row[0] for row in _SEEN.rows(ids)} if ids else set()


def _about_egress(event: webhook.WebhookEvent) -> bool:
    return event.event.startswith("egress_")


def _egress_entry(event: webhook.WebhookEvent, size: int, folded: Folded) -> LedgerEntry:
    return LedgerEntry(
        source=LedgerSource.WEBHOOK,
        event_id=event.id or None,
        event=event.event,
        size=size,
        payload=_payload(event, folded),
        **_entry_fields(event.egress_info, folded),
    )


def _room_entry(event: webhook.WebhookEvent, size: int) -> LedgerEntry:
    return LedgerEntry(
        source=LedgerSource.WEBHOOK,
        outcome=LedgerOutcome.NOTED,
        event_id=event.id or None,
        event=event.event,
        room_name=event.room.name or event.ingress_info.room_name,
        size=size,
        # An ingress event carries its stream key: nothing secret is kept.
        payload=scrub(
            json_format.MessageToDict(event, preserving_proto_field_name=True), stored_secrets()
        ),
    )


class _Batch:
    """Egress infos folded into their jobs together: the jobs are locked in one query (in a
    fixed order, so two batches never deadlock), then each changed job is saved and announced
    once."""

    def __init__(self, jobs: dict[str, EgressJob]) -> None:
        self.jobs = jobs
        self.was_active: dict[str, bool] = {}
        # As each job was read: only what an update changes is written back.
        self.read = {job.pk: job.info_values() for job in jobs.values()}

    @classmethod
    def of(cls, infos: Iterable[egress.EgressInfo]) -> _Batch:
        ids = [info.egress_id for info in infos if info.egress_id]
        return cls({str(job.egress_id): job for job in _LOCKED.objects(ids)} if ids else {})

    @functools.cached_property
    def secrets(self) -> Secrets:
        """The stored secrets to hide, read once for the batch."""
        return stored_secrets()

    def fold(self, info: egress.EgressInfo) -> Folded:
        job = self.jobs.get(info.egress_id) if info.egress_id else None
        if job is None:  # the rare ways (no egress id, an unknown egress): one at a time
            folded = fold(info)
            if folded.job is not None and folded.job.egress_id:
                self.jobs[folded.job.egress_id] = folded.job
            return folded
        was_active = job.is_active
        outcome = take(job, info, self.secrets)
        if outcome == LedgerOutcome.APPLIED:
            self.was_active.setdefault(info.egress_id, was_active)
        return Folded(job, outcome)

    def save(self) -> None:
        changed = {self.jobs[egress_id]: was for egress_id, was in self.was_active.items()}
        EgressJob.save_infos(list(changed), self.read)
        events.announce_jobs(
            [events.JobNews.of(job, was_active=was) for job, was in changed.items()]
        )


def _payload(event: webhook.WebhookEvent, folded: Folded) -> dict[str, Any]:
    envelope = webhook.WebhookEvent()
    envelope.CopyFrom(event)
    envelope.ClearField("egress_info")
    raw = scrub(json_format.MessageToDict(envelope, preserving_proto_field_name=True))
    return raw | {"egress_info": _scrubbed(event.egress_info, folded)}


def _scrubbed(info: egress.EgressInfo, folded: Folded) -> dict[str, Any]:
    """The info as the ledger keeps it: what the job just took in, or scrubbed the same way."""
    if folded.changed and folded.job is not None:
        return folded.job.info
    raw = info_dict(info)
    urls = folded.job.hidden_urls(raw) if folded.job is not None else stream_urls_in(raw)
    return scrub_info(raw, urls, stored_secrets())


def _entry_fields(info: egress.EgressInfo, folded: Folded) -> dict[str, Any]:
    return {
        "outcome": folded.outcome,
        "reason": folded.reason,
        "job": folded.job,
        "egress_id": info.egress_id,
        "room_name": info.room_name,
        "status": status_of(info),
        "updated_at_ns": info.updated_at or None,
    }


# --- folding an EgressInfo into its job ---------------------------------------------------------
def fold(info: egress.EgressInfo) -> Folded:
    """Apply `info` to its job (locked), creating an external job for an egress no job knows.
    Call inside a transaction; browsers hear of a change after it commits."""
    if not info.egress_id:
        return Folded(_external_job(info), LedgerOutcome.APPLIED, NO_EGRESS_ID)
    job = EgressJob.objects.select_for_update().filter(egress_id=info.egress_id).first()
    if job is not None:
        return apply(job, info)
    if launch_in_flight():
        return Folded(None, LedgerOutcome.PENDING, PENDING)
    return Folded(_external_job(info), LedgerOutcome.APPLIED, EXTERNAL)


def apply(job: EgressJob, info: egress.EgressInfo) -> Folded:
    """`info` folded into the locked `job` and saved: applied, stale (older), or noted
    (nothing new)."""
    was_active = job.is_active
    outcome = take(job, info)
    if outcome == LedgerOutcome.APPLIED:
        job.save(update_fields=EgressJob.INFO_FIELDS)
        events.announce_job(job, was_active=was_active)
    return Folded(job, outcome)


def take(job: EgressJob, info: egress.EgressInfo, secrets: Secrets | None = None) -> str:
    """`info` folded into the locked `job` (not saved); the ledger outcome."""
    if job.shows(info):
        return LedgerOutcome.NOTED
    if not job.apply_info(info, secrets):
        return LedgerOutcome.STALE
    _settle_flag(job)
    return LedgerOutcome.APPLIED


def _settle_flag(job: EgressJob) -> None:
    """News from LiveKit answers a flag: an egress it knows again, one no longer starting, or
    any news at all of one that had none."""
    starting = job.status == EgressStatus.STARTING
    answered = job.flag in (JobFlag.LOST, JobFlag.SILENT)
    if answered or (job.flag == JobFlag.STUCK_STARTING and not starting):
        job.flag, job.flagged_at = "", None


def launch_in_flight() -> bool:
    """Whether some launch may still learn its egress id from LiveKit's answer. Their rows
    stay locked until the caller's transaction ends: a launch that adopts its egress meanwhile
    waits, then folds in the events kept pending here (without the lock, it could look for
    them before they commit and leave them pending until the reconciler came by); one that
    adopted first is no longer in flight once its row is read again."""
    since = launches_waiting_since(timezone.now())
    waiting = EgressJob.objects.select_for_update().filter(
        launch_state=LaunchState.LAUNCHING, created_at__gte=since
    )
    return bool(list(waiting.values_list("pk", flat=True)))


def launches_waiting_since(now: datetime) -> datetime:
    """A launch created since then may still be waiting for its Start call's answer; one
    created before and still `launching` lost the process making the call."""
    return now - timedelta(seconds=float(settings.LIVEKIT_START_TIMEOUT)) - LAUNCH_MARGIN


def _kind_of(info: egress.EgressInfo) -> EgressKind:
    """The kind of the request LiveKit echoes (its field names are the kinds' values)."""
    name = info.WhichOneof("request") or ""
    return EgressKind(name) if name in EgressKind.values else EgressKind.UNIFIED


def _external_job(info: egress.EgressInfo) -> EgressJob:
    job = EgressJob(
        external=True,
        egress_id=info.egress_id or None,
        kind=_kind_of(info),
        room_name=info.room_name,
        launch_state=LaunchState.LAUNCHED,
        status="",
    )
    job.apply_info(info)
    job.room_rule = _rules.rule_for_external(job)  # LiveKit's own auto egress
    try:
        with transaction.atomic():
            job.save()
    except IntegrityError:  # another process recorded the same egress a moment ago
        known = EgressJob.objects.select_for_update().get(egress_id=info.egress_id)
        apply(known, info)
        return known
    events.announce_job(job, was_active=False, created=True)
    return job


# --- observations and answers -------------------------------------------------------------------
def observe(info: egress.EgressInfo, source: str = LedgerSource.POLL) -> Folded:
    """Fold what LiveKit listed (reconciler) or answered (an action) into its job; recorded in
    the ledger when it changed something."""
    with transaction.atomic():
        folded = fold(info)
        if folded.outcome in (LedgerOutcome.APPLIED, LedgerOutcome.PENDING):
            record_observation(info, folded, source)
    return folded


def record_observation(info: egress.EgressInfo, folded: Folded, source: str) -> LedgerEntry:
    return LedgerEntry.objects.create(
        source=source,
        event="egress_observed" if source == LedgerSource.POLL else "egress_answer",
        payload={"egress_info": _scrubbed(info, folded)},
        **_entry_fields(info, folded),
    )


def record_refusal(job: EgressJob, call: str) -> LedgerEntry:
    """LiveKit's refusal of a call about the job (its error as the job keeps it: plain words,
    no secret), so the job's timeline shows the answer its page shows."""
    return LedgerEntry.objects.create(
        source=LedgerSource.API,
        outcome=LedgerOutcome.NOTED,
        event=call,
        job=job,
        egress_id=job.egress_id or "",
        room_name=job.room_name,
        status=job.status if job.egress_id else "",
        reason=job.error,
    )


def record_flag(job: EgressJob, which: JobFlag) -> LedgerEntry:
    return LedgerEntry.objects.create(
        source=LedgerSource.POLL,
        outcome=LedgerOutcome.FLAGGED,
        event=f"job_{which}",
        job=job,
        egress_id=job.egress_id or "",
        room_name=job.room_name,
        status=job.status,
        reason=which.explanation,
    )


# --- webhooks that came before their job knew its egress ---------------------------------------
def apply_pending(job: EgressJob) -> EgressJob:
    """Fold in the pending events of the job's egress (received before LiveKit's answer)."""
    return _fold_pending(job)[0]


def _fold_pending(job: EgressJob) -> tuple[EgressJob, int]:
    """The job with its egress's pending events folded in, and how many there were; the job
    is saved and announced once. Each entry is scrubbed again: kept before its job was known,
    it could not hide the stream URLs the job dialled."""
    if not job.egress_id:
        return job, 0
    with transaction.atomic():
        pending = LedgerEntry.objects.select_for_update().filter(
            egress_id=job.egress_id, outcome=LedgerOutcome.PENDING
        )
        entries = list(pending.order_by("updated_at_ns", "pk"))
        if not entries:
            return job, 0
        job = EgressJob.objects.select_for_update().get(pk=job.pk)
        was_active, applied = job.is_active, False
        for entry in entries:
            info = pending_info(entry)
            entry.job, entry.outcome = job, take(job, info)
            applied = applied or entry.outcome == LedgerOutcome.APPLIED
            scrubbed = _scrubbed(info, Folded(job, entry.outcome))
            entry.payload = {**entry.payload, "egress_info": scrubbed}
            entry.save(update_fields=["job", "outcome", "payload"])
        if applied:
            job.save(update_fields=EgressJob.INFO_FIELDS)
            events.announce_job(job, was_active=was_active)
    return job, len(entries)


def pending_info(entry: LedgerEntry) -> egress.EgressInfo:
    info = egress.EgressInfo()
    json_format.ParseDict(entry.payload.get("egress_info") or {}, info, ignore_unknown_fields=True)
    return info


def settle_pending() -> int:
    """Pending events whose egress now has a job are folded in; those no launch claimed in
    time make an external job. Returns how many entries were settled."""
    settled = 0
    pending = LedgerEntry.objects.filter(outcome=LedgerOutcome.PENDING)
    for egress_id in set(pending.values_list("egress_id", flat=True)):
        job = EgressJob.objects.filter(egress_id=egress_id).first()
        if job is None:
            if (job := _unclaimed(pending.filter(egress_id=egress_id))) is None:
                continue
            settled += 1  # the entry that made the external job
        settled += _fold_pending(job)[1]
    return settled


def _unclaimed(entries: QuerySet[LedgerEntry]) -> EgressJob | None:
    """The external job of events no launch claimed (None while a launch still may)."""
    newest = entries.order_by("-updated_at_ns").first()
    if newest is None:
        return None
    with transaction.atomic():
        if launch_in_flight():
            return None
        folded = fold(pending_info(newest))
        LedgerEntry.objects.filter(pk=newest.pk).update(job=folded.job, outcome=folded.outcome)
    return folded.job


# --- room rules ---------------------------------------------------------------------------------
@dataclass
class _RuleHooks:
    """What room rules (actions.room_rules, which starts egress and so imports this module) do
    on a room_started webhook, and which rule an external job matches; set by `use_room_rules`."""

    room_started: Callable[[models.Room], None] = lambda room: None
    rule_for_external: Callable[[EgressJob], RoomRule | None] = lambda job: None


_rules = _RuleHooks()


def use_room_rules(
    room_started: Callable[[models.Room], None],
    rule_for_external: Callable[[EgressJob], RoomRule | None],
) -> None:
    _rules.room_started, _rules.rule_for_external = room_started, rule_for_external
