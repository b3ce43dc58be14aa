"""Room rules (auto egress): start a recipe in every room whose name matches a pattern.

Two ways, both from the same rule:
- rooms the dashboard creates (`create_room`) carry the rule as CreateRoom's `egress`
  (`RoomEgress{room, participant, tracks}`), so LiveKit starts it, dashboard or not: the room
  composite with the room, each participant's and each track's egress as they publish;
- rooms created elsewhere are caught by their room_started webhook (`room_started`) and by the
  reconciler (`catch_up`) when webhooks went missing: the rule is claimed for the room session
  (a `RoomRuleStart` row, unique per rule and room sid) before its recipe is started, so a
  retried webhook, a reconciler pass or a second worker start nothing more.

The webhook's transaction only notes which rules match: the Start runs after it commits, on a
thread of its own (`_in_background`), so LiveKit being slow never slows or fails webhook ingest.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync
from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, close_old_connections, transaction
from django.db.models import Q
from django.utils import timezone
from livekit.protocol import egress, models, room

from egress_app.actions.calls import LaunchError
from egress_app.actions.egress import _prepare
from egress_app.actions.recipes import launch_config, start_recipe
from egress_app.actions.vault import Actor, CreatedRoom, _value_changes, actor_id, audit
from egress_app.events import announce_rooms
from egress_app.launch.requests import _with_upload
from egress_app.livekit import LiveKitError, get_livekit_client
from egress_app.models import (
    AuditAction,
    EgressJob,
    EgressKind,
    Recipe,
    RoomRule,
    RoomRuleStart,
)

logger = logging.getLogger(__name__)

PATTERN_LENGTH = 100
ROOM_NAME_LENGTH = 256
# A room's creation time is in whole seconds (or ms): a rule saved within this of the room's
# start still counts as there before it.
CLOCK_SLACK = timedelta(seconds=1.5)
# A room being created by the dashboard with a rule's egress (no sid yet) keeps the webhook way
# off that room name this long at most (a CreateRoom that never answered).
CREATING_FOR = timedelta(minutes=5)
NEEDS_ROOM_COMPOSITE = "Choose a recipe that records the room (a room composite)."
NOTHING = "Choose what to record: the room, each participant or each track."
GONE_RECIPE = "That recipe no longer exists."
START_ATTEMPTS = 4
# A claim with no job this long after it was made lost its Start: the reconciler resumes it.
RESUME_AFTER = timedelta(minutes=1)


# --- validation and changes ---------------------------------------------------------------------
def pattern_error(pattern: str) -> str | None:
    """Why `pattern` is no room name glob (`*` any text, `?` one character, `[abc]` one of)."""
    if not pattern:
        return "A pattern is required, like webinar-*."
    if len(pattern) > PATTERN_LENGTH:
        return f"Use at most {PATTERN_LENGTH} characters."
    if re.search(r"[\s\x00-\x1f\x7f]", pattern):
        return "Room names here have no spaces or control characters."
    if re.search(r"\[[^\]]*$", pattern):
        return "A [ opens a set of characters that is never closed with ]."
    return None


@dataclass(frozen=True)
class RuleInput:
    """What the rule form gives."""

    pattern: str
    recipe_id: int | None
    record_room: bool = True
    each_participant: bool = False
    each_track: bool = False
    enabled: bool = True


def _checked(given: RuleInput) -> tuple[dict[str, Any], Recipe]:
    errors: dict[str, str] = {}
    pattern = given.pattern.strip()
    if error := pattern_error(pattern):
        errors["pattern"] = error
    recipe = Recipe.objects.filter(pk=given.recipe_id or 0).first()
    if recipe is None:
        errors["recipe"] = "Choose a recipe." if not given.recipe_id else GONE_RECIPE
    elif recipe.config.get("kind") != EgressKind.ROOM_COMPOSITE:
        errors["recipe"] = NEEDS_ROOM_COMPOSITE
    if not (given.record_room or given.each_participant or given.each_track):
        errors["record_room"] = NOTHING
    if errors:
        raise ValidationError(errors)
    assert recipe is not None
    values = {
        "pattern": pattern,
        "recipe": recipe,
        "record_room": given.record_room,
        "each_participant": given.each_participant,
        "each_track": given.each_track,
        "enabled": given.enabled,
    }
    return values, recipe


@transaction.atomic
def save_rule(actor: Actor, given: RuleInput, rule: RoomRule | None = None) -> RoomRule:
    """Create a rule, or change `rule`; ValidationError({field: message}) writes nothing."""
    values, _ = _checked(given)
    if rule is None:
        rule = RoomRule.objects.create(created_by_id=actor_id(actor), **values)
        audit(actor, AuditAction.CREATED, rule, changed=list(values))
        return rule
    rule = RoomRule.objects.select_for_update().get(pk=rule.pk)
    changed = _value_changes({name: (getattr(rule, name), new) for name, new in values.items()})
    for name, new in values.items():
        setattr(rule, name, new)
    rule.save()
    if changed:
        audit(actor, AuditAction.CHANGED, rule, changed=changed)
    return rule


@transaction.atomic
def delete_rule(actor: Actor, rule: RoomRule) -> None:
    """Delete; the jobs it started stay, no longer linked to it."""
    current = RoomRule.objects.select_for_update().filter(pk=rule.pk).first()
    if current is not None:
        audit(actor, AuditAction.DELETED, current)
        current.delete()


def rules_using(recipe: Recipe) -> list[RoomRule]:
    return list(recipe.room_rules.all())


# --- matching -----------------------------------------------------------------------------------
def matching_rules(room_name: str, *, since: datetime | None = None) -> list[RoomRule]:
    """The enabled rules whose pattern matches, first by pattern; `since`: only the rules that
    existed when the room started (a new rule does not record rooms already running)."""
    rules = RoomRule.objects.filter(enabled=True).select_related("recipe")
    if since is not None:
        rules = rules.filter(created_at__lte=since + CLOCK_SLACK)
    return [rule for rule in rules if rule.matches(room_name)]


_KINDS = {
    EgressKind.ROOM_COMPOSITE: "record_room",
    EgressKind.PARTICIPANT: "each_participant",
    EgressKind.TRACK: "each_track",
}


def rule_for_external(job: EgressJob) -> RoomRule | None:
    """The rule an egress started elsewhere (LiveKit's own auto egress) matches: its room name
    and its kind (a room composite for the rule's room, participant or track egress for its
    each participant or each track)."""
    wanted = _KINDS.get(EgressKind(job.kind)) if job.kind in EgressKind.values else None
    if wanted is None or not job.room_name:
        return None
    rules = matching_rules(job.room_name)
    return next((rule for rule in rules if getattr(rule, wanted)), None)


# --- rooms the dashboard creates ----------------------------------------------------------------
def room_egress(rule: RoomRule, room_name: str) -> room.RoomEgress:
    """The rule as CreateRoom's `egress` (secrets included: never store or log it). The recipe's
    room composite (as a v1 request, which RoomEgress holds), and each participant or track to
    the recipe's storage. ValidationError when the recipe no longer holds."""
    config = dict(launch_config(rule.recipe, room_name), api="v1")
    launch = _prepare(config, ())
    answer = room.RoomEgress()
    if rule.record_room:
        assert isinstance(launch.call.request, egress.RoomCompositeEgressRequest)  # api v1
        answer.room.CopyFrom(launch.call.request)
    if rule.each_participant:
        file = egress.EncodedFileOutput(filepath=f"{room_name}/{{publisher_identity}}-{{time}}")
        encoding = config.get("encoding") or {}
        preset = encoding.get("preset", "H264_720P_30")
        answer.participant.CopyFrom(
            egress.AutoParticipantEgress(
                preset=preset, file_outputs=[_with_upload(file, launch.profile)]
            )
        )
    if rule.each_track:
        tracks = egress.AutoTrackEgress(filepath=f"{room_name}/")
        if launch.profile is not None:
            upload = launch.profile.upload()
            getattr(tracks, launch.profile.provider_spec.storage_field).CopyFrom(upload)
        answer.tracks.CopyFrom(tracks)
    return answer


class RoomError(Exception):
    """LiveKit refused to create the room: `message` says it for a person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def room_errors(
    name: str, empty_timeout: int | None, max_participants: int | None
) -> dict[str, str]:
    errors = {}
    if not name:
        errors["name"] = "A room name is required."
    elif len(name) > ROOM_NAME_LENGTH or re.search(r"[\x00-\x1f\x7f]", name):
        errors["name"] = f"Use at most {ROOM_NAME_LENGTH} characters, no control characters."
    for field, value in (("empty_timeout", empty_timeout), ("max_participants", max_participants)):
        if value is not None and not 0 <= value <= 2**32 - 1:
            errors[field] = "Use a whole number from 0 (LiveKit's default)."
    return errors


def create_room(
    actor: Actor,
    name: str,
    *,
    empty_timeout: int | None = None,
    max_participants: int | None = None,
) -> tuple[models.Room, RoomRule | None]:
    """Create a room in LiveKit, carrying the first matching rule as its auto egress. The claim
    (`native`) is written before CreateRoom, so the room's room_started webhook starts nothing
    more. ValidationError for bad input or a room that exists; RoomError when LiveKit refuses."""
    name = name.strip()
    if errors := room_errors(name, empty_timeout, max_participants):
        raise ValidationError(errors)
    client = get_livekit_client()
    try:
        exists = bool(_call(client.list_rooms, [name]))
    except LiveKitError as error:
        raise RoomError(f"LiveKit could not be asked for the room: {error.plain}") from error
    if exists:
        raise ValidationError({"name": f"The room {name} exists already."})
    rule = next((r for r in matching_rules(name) if r.enabled), None)
    wanted = room_egress(rule, name) if rule is not None else None
    claim = _native_claim(rule, name) if rule is not None else None
    try:
        created = _call(
            client.create_room,
            name,
            empty_timeout=empty_timeout or 0,
            max_participants=max_participants or 0,
            egress=wanted,
        )
    except LiveKitError as error:
        if claim is not None:
            claim.delete()
        raise RoomError(f"LiveKit did not create the room: {error.plain}") from error
    with transaction.atomic():
        if claim is not None:
            RoomRuleStart.objects.filter(pk=claim.pk).update(room_sid=created.sid)
        outcome = f"with {rule.name} as LiveKit's auto egress" if rule is not None else ""
        audit(actor, AuditAction.CREATED, CreatedRoom(name), outcome=outcome)
        announce_rooms()  # open Live pages show the new room now
    return created, rule


def _call(method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return async_to_sync(method)(*args, **kwargs)


def _native_claim(rule: RoomRule, name: str) -> RoomRuleStart:
    return RoomRuleStart.objects.create(rule=rule, room_name=name, native=True, room_sid=None)


# --- rooms created elsewhere --------------------------------------------------------------------
def room_started(info: models.Room) -> None:
    """A room_started webhook, in its transaction: when a rule matches, start it once this
    transaction commits, on a thread of its own (never in the webhook's way)."""
    since = _started_at(info)
    if any(rule.record_room for rule in matching_rules(info.name, since=since)):
        work = partial(start_rules, info.name, info.sid, since)
        transaction.on_commit(partial(_in_background, work), robust=True)


def _started_at(info: models.Room) -> datetime:
    if info.creation_time_ms:
        return datetime.fromtimestamp(info.creation_time_ms / 1000, UTC)
    if info.creation_time:
        return datetime.fromtimestamp(info.creation_time, UTC)
    return timezone.now()


_running: set[threading.Thread] = set()
_running_lock = threading.Lock()


def _in_background(work: Callable[[], object]) -> None:
    def run() -> None:
        close_old_connections()
        try:
            work()
        except Exception:  # a thread's failure is logged; the reconciler's pass tries again
            logger.exception("A room rule could not be started")
        finally:
            close_old_connections()
            with _running_lock:
                _running.discard(threading.current_thread())

    thread = threading.Thread(target=run, name="room-rule-start", daemon=True)
    with _running_lock:
        _running.add(thread)
    thread.start()


def wait_for_starts(timeout: float = 10.0) -> None:
    """Wait for the rule starts running in the background (tests, a worker shutting down)."""
    with _running_lock:
        threads = list(_running)
    for thread in threads:
        thread.join(timeout)


def start_rules(room_name: str, room_sid: str, since: datetime | None = None) -> list[EgressJob]:
    """Start every matching rule's recipe in the room session `room_sid`, each at most once."""
    jobs = []
    for rule in matching_rules(room_name, since=since):
        if rule.record_room and (job := start_rule(rule, room_name, room_sid)) is not None:
            jobs.append(job)
    return jobs


def start_rule(rule: RoomRule, room_name: str, room_sid: str) -> EgressJob | None:
    """Claim the rule for the room session, then start its recipe; None when it was claimed
    before (by another webhook, worker or process) or the dashboard created the room with it."""
    if not room_sid or _created_here(rule, room_name, room_sid):
        return None
    try:
        with transaction.atomic():
            claim = RoomRuleStart.objects.create(rule=rule, room_sid=room_sid, room_name=room_name)
    except IntegrityError:  # claimed already: the unique (rule, room_sid)
        return None
    return _start_retrying(claim)


def _start_retrying(claim: RoomRuleStart) -> EgressJob | None:
    """A database busy for a moment (a lock) is waited out: the claim's launch token makes the
    Start safe to ask again (one job, one Start call, whoever asks)."""
    for attempt in range(START_ATTEMPTS):
        try:
            return _start_claimed(claim)
        except OperationalError:
            if attempt == START_ATTEMPTS - 1:
                raise
            time.sleep(0.1 * 2**attempt)
    return None


def resume_claims() -> int:
    """Claims whose Start never happened (the process stopped, the database failed): started
    now, by the same launch token. Called by the reconciler."""
    stale = timezone.now() - RESUME_AFTER
    waiting = RoomRuleStart.objects.filter(
        job=None, error="", native=False, created_at__lt=stale
    ).select_related("rule__recipe")
    return sum(_start_claimed(claim) is not None for claim in waiting)


def _created_here(rule: RoomRule, room_name: str, room_sid: str) -> bool:
    creating = Q(room_sid__isnull=True, created_at__gte=timezone.now() - CREATING_FOR)
    native = RoomRuleStart.objects.filter(rule=rule, room_name=room_name, native=True)
    return native.filter(creating | Q(room_sid=room_sid)).exists()


def _start_claimed(claim: RoomRuleStart) -> EgressJob | None:
    rule = claim.rule
    try:
        job = start_recipe(
            None, rule.recipe, room_name=claim.room_name, launch_token=claim.launch_token
        )
    except ValidationError as error:
        claim.error = " ".join(error.messages)
        with transaction.atomic():
            claim.save(update_fields=["error"])
            audit(None, AuditAction.STARTED, rule, outcome=f"not started: {claim.error}")
        logger.warning(
            "Room rule %s did not start in %s: %s", rule.pk, claim.room_name, claim.error
        )
        return None
    except LaunchError as error:
        job = error.job
    with transaction.atomic():
        EgressJob.objects.filter(pk=job.pk).update(room_rule=rule)
        claim.job = job
        claim.error = job.error or ""
        claim.save(update_fields=["job", "error"])
        outcome = f"job {job.pk} in {claim.room_name} (room session {claim.room_sid})"
        audit(None, AuditAction.STARTED, rule, outcome=outcome)
    job.room_rule = rule
    return job


def catch_up(rooms: Iterable[models.Room]) -> int:
    """The reconciler's pass: rooms LiveKit lists whose room_started webhook never came. A rule
    starts only in rooms that started after it was made; claims make the rest a no-op."""
    started = 0
    for info in rooms:
        started += len(start_rules(info.name, info.sid, _started_at(info)))
    return started


def any_enabled() -> bool:
    return RoomRule.objects.filter(enabled=True, record_room=True).exists()
