"""Property-based tests of one job's webhooks: whatever LiveKit's deliveries drop, reorder or
repeat, the job never shows an older state than the newest it was told, and one reconciler
observation of LiveKit's final state brings it to exactly that state."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from livekit.protocol import egress, models, webhook

from egress_app import actions
from egress_app.models import EgressJob, EgressKind, LaunchState, LedgerEntry, LedgerOutcome

pytestmark = pytest.mark.django_db

EGRESS_ID = "EG_property0001"
ROOM = "town-hall"
FIELDS = ("status", "started_at", "ended_at", "error", "error_code", "details", "results")
T0 = 1_763_700_000 * 1_000_000_000  # LiveKit's Unix nanoseconds
STREAM = "rtmp://live.example.com/app/{abc...xyz}"  # as LiveKit shows it, already redacted

S = egress.EgressStatus
# How an egress ends, as LiveKit tells it: (error, error_code, details).
ENDINGS: dict[egress.EgressStatus, tuple[str, int, str]] = {
    S.EGRESS_COMPLETE: ("", 0, "End reason: StopEgress API"),
    S.EGRESS_FAILED: (
        "recording ended early: connection to room failed",
        503,
        "End reason: Failure",
    ),
    S.EGRESS_ABORTED: ("Start signal not received", 412, ""),
    S.EGRESS_LIMIT_REACHED: ("Session limit reached", 413, "End reason: Session limit reached"),
}
EVENTS = {
    S.EGRESS_STARTING: "egress_started",
    S.EGRESS_ACTIVE: "egress_updated",
    S.EGRESS_ENDING: "egress_updated",
}


@dataclass(frozen=True)
class History:
    """LiveKit's true history of one egress and the webhooks it sent, one per snapshot."""

    snapshots: list[egress.EgressInfo]
    events: list[webhook.WebhookEvent]

    @property
    def final(self) -> egress.EgressInfo:
        return self.snapshots[-1]


def _snapshot(
    status: egress.EgressStatus, updated_at: int, *, with_stream: bool
) -> egress.EgressInfo:
    info = egress.EgressInfo(
        egress_id=EGRESS_ID,
        room_id="RM_property0001",
        room_name=ROOM,
        status=status,
        updated_at=updated_at,
        room_composite=egress.RoomCompositeEgressRequest(room_name=ROOM, layout="grid"),
    )
    info.file_results.append(
        egress.FileInfo(
            filename="rec/town-hall.mp4",
            location="https://jobs-recordings.s3.eu-west-1.amazonaws.com/rec/town-hall.mp4",
        )
    )
    if with_stream:
        info.stream_results.append(egress.StreamInfo(url=STREAM, status=egress.StreamInfo.ACTIVE))
    return info


@st.composite
def histories(draw: st.DrawFn) -> History:
    """STARTING → ACTIVE (one or more updates) → maybe ENDING → COMPLETE / FAILED / ABORTED /
    LIMIT_REACHED, each snapshot strictly newer than the one before; results grow as it runs
    and are final, with the error if any, on the last one."""
    final = draw(st.sampled_from(sorted(ENDINGS)))
    # An abort comes before ACTIVE; a failure may too (a participant not found, say).
    fewest = 0 if final in (S.EGRESS_ABORTED, S.EGRESS_FAILED) else 1
    actives = draw(st.integers(fewest, 0 if final == S.EGRESS_ABORTED else 3))
    ending = final in (S.EGRESS_COMPLETE, S.EGRESS_FAILED) and actives > 0 and draw(st.booleans())
    statuses: list[egress.EgressStatus] = [S.EGRESS_STARTING, *[S.EGRESS_ACTIVE] * actives]
    statuses += [S.EGRESS_ENDING] * ending + [final]
    gaps = draw(st.lists(st.integers(1, 5_000_000_000), min_size=len(statuses)))
    started_at_start = draw(st.booleans())  # LiveKit may set started_at before ACTIVE
    with_stream = draw(st.booleans())

    snapshots, now, started_at = [], T0, 0
    for n, status in enumerate(statuses):
        now += gaps[n]
        if started_at == 0 and (started_at_start or status != S.EGRESS_STARTING):
            started_at = now
        info = _snapshot(status, now, with_stream=with_stream)
        info.started_at = started_at
        if status == S.EGRESS_ENDING:
            info.details = ENDINGS[S.EGRESS_COMPLETE][2]
        if status == final:
            _end(info, now)
        elif status == S.EGRESS_ACTIVE and info.stream_results:
            info.stream_results[0].retries = n  # a stream update: something new to show
        snapshots.append(info)
    events = [
        webhook.WebhookEvent(
            id=f"EV_{n}",
            event=EVENTS.get(info.status, "egress_ended"),
            egress_info=info,
            created_at=info.updated_at // 1_000_000_000,
        )
        for n, info in enumerate(snapshots)
    ]
    return History(snapshots, events)


def _end(info: egress.EgressInfo, now: int) -> None:
    info.error, info.error_code, info.details = ENDINGS[info.status]
    info.ended_at = now
    ran = now - (info.started_at or now)
    for result in info.file_results:
        result.duration, result.size = ran, 1 + ran // 4_000
    for stream in info.stream_results:
        stream.duration, stream.status = ran, egress.StreamInfo.FINISHED


Case = tuple[History, list[webhook.WebhookEvent], int]


@st.composite
def deliveries(draw: st.DrawFn) -> Case:
    """A history, what reached the dashboard (some events dropped, some repeated with the same
    id, in any order), and how many the server received at once (written as one batch)."""
    history = draw(histories())
    count = len(history.events)
    picks = draw(st.lists(st.integers(0, count - 1), max_size=3 * count))
    return history, [history.events[n] for n in picks], draw(st.integers(1, 6))


def expected_state(info: egress.EgressInfo | None) -> dict[str, object]:
    """What a job shows after `info` alone (a job never told anything shows no status)."""
    job = EgressJob(kind=EgressKind.ROOM_COMPOSITE, room_name=ROOM, status="")
    if info is not None:
        assert job.apply_info(info)
    return {name: getattr(job, name) for name in FIELDS}


def stored_state(job: EgressJob) -> dict[str, object]:
    job.refresh_from_db()
    return {name: getattr(job, name) for name in FIELDS}


def fresh_job() -> EgressJob:
    LedgerEntry.objects.all().delete()
    EgressJob.objects.all().delete()
    return EgressJob.objects.create(
        egress_id=EGRESS_ID,
        kind=EgressKind.ROOM_COMPOSITE,
        room_name=ROOM,
        launch_state=LaunchState.LAUNCHED,
        status="",
    )


def deliver(
    delivered: list[webhook.WebhookEvent], seen: set[str] | None = None, at_once: int = 1
) -> None:
    """The events through the webhook path, `at_once` per batch; `seen`: ids delivered
    before (a duplicate is acknowledged and ignored)."""
    seen = set(seen or ())
    for start in range(0, len(delivered), at_once):
        batch = delivered[start : start + at_once]
        for event, new in zip(
            batch, actions.receive_webhooks([(e, 0) for e in batch]), strict=True
        ):
            assert new == (event.id not in seen)
            seen.add(event.id)


examples = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@examples
@given(deliveries())
def test_it_shows_the_newest_delivered_state_never_an_older_one(db: None, case: Case) -> None:
    _, delivered, at_once = case
    job = fresh_job()

    deliver(delivered, at_once=at_once)

    newest = max(delivered, key=lambda event: event.egress_info.updated_at, default=None)
    expected = expected_state(newest.egress_info if newest is not None else None)
    assert stored_state(job) == expected
    assert job.info_updated_ns == (newest.egress_info.updated_at if newest else 0)


@examples
@given(deliveries())
def test_it_ends_in_livekits_final_state_after_one_reconciler_observation(
    db: None, case: Case
) -> None:
    history, delivered, at_once = case
    job = fresh_job()
    deliver(delivered, at_once=at_once)

    actions.observe(history.final)

    assert stored_state(job) == expected_state(history.final)
    assert job.info_updated_ns == history.final.updated_at
    assert not job.is_active


@examples
@given(deliveries(), st.data())
def test_it_keeps_livekits_final_state_when_webhooks_come_after_the_reconciler(
    db: None, case: Case, data: st.DataObject
) -> None:
    history, delivered, at_once = case
    split = data.draw(st.integers(0, len(delivered)), label="observed after")
    job = fresh_job()
    deliver(delivered[:split], at_once=at_once)

    actions.observe(history.final)
    deliver(delivered[split:], seen={event.id for event in delivered[:split]}, at_once=at_once)

    assert stored_state(job) == expected_state(history.final)
    assert job.info_updated_ns == history.final.updated_at


@examples
@given(deliveries())
def test_it_keeps_one_ledger_row_per_delivered_event(db: None, case: Case) -> None:
    _, delivered, at_once = case
    job = fresh_job()

    deliver(delivered, at_once=at_once)

    rows = LedgerEntry.objects.filter(event_id__isnull=False)
    assert rows.count() == len({event.id for event in delivered})
    outcomes = {LedgerOutcome.APPLIED, LedgerOutcome.STALE, LedgerOutcome.NOTED}
    assert set(rows.values_list("outcome", flat=True)) <= outcomes
    assert set(rows.values_list("event_id", flat=True)) == {event.id for event in delivered}
    assert set(rows.values_list("job", flat=True)) <= {job.pk}
    applied = rows.filter(outcome=LedgerOutcome.APPLIED).order_by("pk")
    updated = [row.updated_at_ns or 0 for row in applied]
    assert updated == sorted(updated)  # each applied event newer than the one before
    assert len(set(updated)) == len(updated)


# --- any batch: every well-formed webhook lands, whatever is mixed in ----------------------------
# Text as LiveKit passes it on: any printable character (no NUL, no lone surrogate), room names
# past the old 255-character column (LiveKit allows 256 bytes by default, more if configured).
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), max_size=600)
EGRESS_IDS = st.sampled_from([EGRESS_ID, "EG_property0002", "EG_property0003", ""])
STATUSES = st.sampled_from(sorted(S.values())) | st.integers(8, 99)  # a newer LiveKit's too


@st.composite
def well_formed(draw: st.DrawFn) -> webhook.WebhookEvent:
    """An egress event (a known job's, an external one, one without an egress id; any status)
    or a room event, its id to be set."""
    if draw(st.booleans()):
        room = models.Room(name=draw(TEXT), sid="RM_property0001", metadata=draw(TEXT))
        return webhook.WebhookEvent(event="room_started", room=room)
    info = egress.EgressInfo(
        egress_id=draw(EGRESS_IDS),
        room_name=draw(TEXT),
        status=draw(STATUSES),
        updated_at=T0 + draw(st.integers(0, 10**12)),
        details=draw(TEXT),
        room_composite=egress.RoomCompositeEgressRequest(room_name=ROOM),
    )
    return webhook.WebhookEvent(event="egress_updated", egress_info=info)


def _with(received: webhook.WebhookEvent, /, **changes: str) -> webhook.WebhookEvent:
    for name, value in changes.items():
        setattr(received if name in ("id", "event") else received.egress_info, name, value)
    return received


# Refused on every database: longer than any id or event name LiveKit makes.
OVERSIZED = {
    "egress id": lambda e: _with(e, event="egress_updated", egress_id="EG_" + "x" * 62),
    "event id": lambda e: _with(e, id="EV_" + "x" * 126),
    "event type": lambda e: _with(e, event="egress_" + "x" * 34),
}
NOISE = random.Random(13).randbytes(3000).hex()  # what no compression shrinks under 2.7 kB
# What PostgreSQL refuses (SQLite keeps it): a NUL in a column or in the JSON payload, a room
# name too long for the job's index.
UNKEPT = {
    "NUL in a room name": lambda e: _with(e, event="egress_updated", room_name="a\x00b"),
    "NUL in the payload": lambda e: _with(e, event="egress_updated", details="\x00"),
    "room name too long to index": lambda e: _with(
        e, event="egress_updated", egress_id=EGRESS_ID, room_name=NOISE
    ),
}


@dataclass(frozen=True)
class Mixed:
    """Well-formed webhooks with malformed ones mixed in, in any order."""

    batch: list[webhook.WebhookEvent]
    good: set[str]  # the ids of the well-formed ones
    refused: set[str]  # of those refused on every database
    refused_by_postgresql: set[str]  # of those PostgreSQL refuses whatever the batch holds


@st.composite
def mixed_batches(draw: st.DrawFn) -> Mixed:
    good = draw(st.lists(well_formed(), min_size=1, max_size=8))
    kinds = st.sampled_from(sorted(OVERSIZED) + sorted(UNKEPT))
    bad = [(kind, draw(well_formed())) for kind in draw(st.lists(kinds, max_size=4))]
    for n, event in enumerate(good):
        event.id = f"EV_good{n:08}"
    for n, (kind, event) in enumerate(bad):
        event.id = f"EV_bad{n:09}"
        (OVERSIZED | UNKEPT)[kind](event)
    return Mixed(
        batch=draw(st.permutations([*good, *(event for _, event in bad)])),
        good={event.id for event in good},
        refused={event.id for kind, event in bad if kind in OVERSIZED},
        # A room name too long to index fails only when the job would show it.
        refused_by_postgresql={event.id for kind, event in bad if kind.startswith("NUL")},
    )


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(mixed_batches())
def test_any_batch_lands_every_well_formed_webhook_whatever_is_mixed_in(
    db: None, case: Mixed
) -> None:
    fresh_job()

    answers = actions.receive_webhooks([(event, 0) for event in case.batch])

    by_id = dict(zip([event.id for event in case.batch], answers, strict=True))
    assert {by_id[event_id] for event_id in case.good} == {True}
    refused = case.refused | (
        case.refused_by_postgresql if connection.vendor == "postgresql" else set()
    )
    assert all(isinstance(by_id[event_id], actions.Unstorable) for event_id in refused)
    landed = set(LedgerEntry.objects.values_list("event_id", flat=True))
    assert landed == {event_id for event_id, answer in by_id.items() if answer is True}
    assert case.good <= landed
