"""The vault's named state changes: storage profiles, stream destinations and their keys.

Each action runs in one transaction and writes its AuditEntry inside it. Bad input raises
`ValidationError({field: message})` before anything is written.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import models, transaction

from egress_app import names
from egress_app.actions import alert_events
from egress_app.crypto import reencrypt
from egress_app.models import (
    AlertChannel,
    ApiToken,
    AudioSession,
    AudioSessionState,
    AuditAction,
    AuditEntry,
    AuditTarget,
    EgressJob,
    EngineProfile,
    NotificationRule,
    Recipe,
    RoomRule,
    Schedule,
    StorageProfile,
    StreamDestination,
    Transcription,
    running_jobs,
)
from egress_app.storage import destinations
from egress_app.storage.providers import PROVIDERS, Provider, path_template_error

Actor = AbstractBaseUser | AnonymousUser | None


def signed_in(actor: Actor) -> AbstractBaseUser | None:
    """The user behind an action; None for the system or an anonymous caller."""
    return actor if actor is not None and actor.is_authenticated else None


def actor_id(actor: Actor) -> int | None:
    user = signed_in(actor)
    return user.pk if user is not None else None


Errors = dict[str, str]
NAME_LENGTH = 100
SHOWN_JOB_IDS = 5


class InUseError(Exception):
    """A profile or destination cannot go while a running job uses it; the message says why."""


class ProbeOutcome(Protocol):
    """What `record_storage_test` needs of a connection test's result (probes.ProbeResult)."""

    @property
    def ok(self) -> bool: ...

    @property
    def message(self) -> str: ...


# --- shared helpers -----------------------------------------------------------------------------
@dataclass(frozen=True)
class RoomParticipant:
    """A participant in a LiveKit room, audited by name: LiveKit keeps them, not the database."""

    room: str
    identity: str
    pk: None = None

    @property
    def name(self) -> str:
        return f"{self.identity} in {self.room}"[:200]  # AuditEntry.target_name's length


@dataclass(frozen=True)
class CreatedRoom:
    """A LiveKit room the dashboard created, audited by name (LiveKit keeps it)."""

    room: str
    pk: None = None

    @property
    def name(self) -> str:
        return self.room[:200]


Audited = (
    StorageProfile
    | StreamDestination
    | Recipe
    | EgressJob
    | AudioSession
    | Transcription
    | EngineProfile
    | RoomRule
    | Schedule
    | RoomParticipant
    | ApiToken
    | CreatedRoom
    | AlertChannel
    | NotificationRule
    | None
)
_TARGETS: tuple[tuple[type[models.Model], AuditTarget], ...] = (
    (StorageProfile, AuditTarget.STORAGE_PROFILE),
    (StreamDestination, AuditTarget.STREAM_DESTINATION),
    (Recipe, AuditTarget.RECIPE),
    (EgressJob, AuditTarget.JOB),
    (AudioSession, AuditTarget.AUDIO_SESSION),
    (Transcription, AuditTarget.TRANSCRIPT),
    (EngineProfile, AuditTarget.ENGINE_PROFILE),
    (ApiToken, AuditTarget.API_TOKEN),
    (RoomRule, AuditTarget.ROOM_RULE),
    (AlertChannel, AuditTarget.ALERT_CHANNEL),
    (NotificationRule, AuditTarget.ALERT_RULE),
    (Schedule, AuditTarget.SCHEDULE),
)


def _target_type(target: Audited) -> AuditTarget:
    if isinstance(target, RoomParticipant):
        return AuditTarget.PARTICIPANT
    if isinstance(target, CreatedRoom):
        return AuditTarget.ROOM
    return next(
        (kind for model, kind in _TARGETS if isinstance(target, model)), AuditTarget.SECRETS
    )


def _target_name(target: Audited) -> str:
    if target is None:
        return "all stored secrets"
    if isinstance(target, EgressJob):
        return f"job {target.pk}" + (f" ({target.egress_id})" if target.egress_id else "")
    return target.name


# How the actions in progress were asked for, when not from a page ("API token ci-deploy"):
# every audit entry written meanwhile records it (`acting_via`).
_VIA: ContextVar[str] = ContextVar("egress_audit_via", default="")


@contextmanager
def acting_via(via: str) -> Iterator[None]:
    """Record `via` on every audit entry written inside the block (the API's token name)."""
    reset = _VIA.set(via[:120])
    try:
        yield
    finally:
        _VIA.reset(reset)


def audit(
    actor: Actor,
    action: AuditAction,
    target: Audited,
    *,
    changed: Iterable[str] = (),
    outcome: str = "",
) -> AuditEntry:
    """Record who did `action` to `target`, in the caller's transaction (every action that
    changes something writes one: the vault's, recipes' and jobs')."""
    user = signed_in(actor)
    return AuditEntry.objects.create(
        actor_id=user.pk if user else None,
        actor_name=user.get_username() if user else "system",
        action=action,
        target_type=_target_type(target),
        target_id=target.pk if target else None,
        target_name=_target_name(target),
        changed_fields=list(changed),
        outcome=outcome,
        via=_VIA.get(),
    )


def _raise_if(errors: Errors) -> None:
    if errors:
        raise ValidationError(errors)


def name_errors(model: type[models.Model], name: str, *, pk: int | None = None) -> Errors:
    """A name (`names.clean`ed) is required, short enough, and unlike every other of `model`'s
    rows: not the same ignoring case, nor a look-alike (`names.same`)."""
    if not name:
        return {"name": "Name is required."}  # invisible characters alone are no name
    if len(name) > NAME_LENGTH:
        return {"name": f"Use at most {NAME_LENGTH} characters."}
    others = model._default_manager.exclude(pk=pk).values_list("name", flat=True)
    # Profiles, destinations and recipes are tens, not thousands: compared here, not in SQL.
    if taken := next((other for other in others if names.same(name, other)), None):
        kind = model._meta.verbose_name
        a_kind = f"an {kind}" if str(kind)[:1] in "aeiou" else f"a {kind}"
        if taken.casefold() == name.casefold():
            return {"name": f"There is already {a_kind} called {name}."}
        return {"name": f"There is already {a_kind} called {taken}, which looks the same."}
    return {}


def _merge_secrets(
    stored: Mapping[str, str], new: Mapping[str, str], clear: Collection[str]
) -> dict[str, str]:
    """Stored values, minus the cleared ones, overwritten by the new non-empty ones."""
    merged = {name: value for name, value in stored.items() if name not in clear}
    merged.update({name: value for name, value in new.items() if value})
    return merged


def _secret_changes(
    names: Iterable[str], before: Mapping[str, str], after: Mapping[str, str]
) -> list[str]:
    """Changed secret fields by name only: "secret (set)", "(replaced)" or "(removed)"."""
    changes = []
    for name in names:
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        how = "set" if old is None else "removed" if new is None else "replaced"
        changes.append(f"{name} ({how})")
    return changes


def _value_changes(pairs: Mapping[str, tuple[Any, Any]]) -> list[str]:
    return [name for name, (old, new) in pairs.items() if old != new]


def _refuse_if_in_use(target: StorageProfile | StreamDestination, what: str) -> None:
    jobs = target.jobs.filter(running_jobs()).order_by("created_at", "pk")
    running = [egress_id or f"job {pk}" for pk, egress_id in jobs.values_list("pk", "egress_id")]
    if not running:
        return
    shown = ", ".join(running[:SHOWN_JOB_IDS])
    if len(running) > SHOWN_JOB_IDS:
        shown += f" and {len(running) - SHOWN_JOB_IDS} more"
    users = "a running job uses" if len(running) == 1 else f"{len(running)} running jobs use"
    raise InUseError(
        f"The {what} “{target.name}” cannot be deleted while {users} it ({shown}). "
        "Stop those jobs or wait until they end, then delete it."
    )


def _refuse_if_recording(profile: StorageProfile) -> None:
    """A running audio session uploads its recording through the profile when it ends."""
    rooms = profile.audio_sessions.filter(state=AudioSessionState.RUNNING).order_by("created_at")
    names = list(rooms.values_list("room_name", flat=True)[:SHOWN_JOB_IDS])
    if names:
        raise InUseError(
            f"The storage profile “{profile.name}” cannot be deleted while an audio session "
            f"records to it ({', '.join(names)}): its recording is uploaded there when it ends. "
            "Stop the session first, then delete it."
        )


# --- profiles: storage and engine profiles share one default and a Test -------------------------
def _locked[P: (StorageProfile, EngineProfile)](profile: P) -> P:
    return type(profile)._default_manager.select_for_update().get(pk=profile.pk)


def _take_default[P: (StorageProfile, EngineProfile)](profile: P) -> str:
    """Make `profile` the default (not saved yet); the names of the profile it replaces."""
    previous = type(profile)._default_manager.filter(is_default=True).exclude(pk=profile.pk)
    replaced = ", ".join(previous.values_list("name", flat=True))
    previous.update(is_default=False)
    profile.is_default = True
    return replaced


def _delete_profile[P: (StorageProfile, EngineProfile)](actor: Actor, profile: P) -> None:
    """Delete a locked, checked profile; when the default goes, the oldest remaining one of
    its kind takes over."""
    audit(actor, AuditAction.DELETED, profile)
    was_default, name = profile.is_default, profile.name
    profile.delete()
    successor = type(profile)._default_manager.order_by("created_at", "pk").first()
    if was_default and successor is not None:
        successor.is_default = True
        successor.save(update_fields=["is_default", "updated_at"])
        audit(actor, AuditAction.MADE_DEFAULT, successor, outcome=f"{name} was deleted")


def _make_default[P: (StorageProfile, EngineProfile)](actor: Actor, profile: P) -> P:
    """Make this the one default profile of its kind."""
    profile = _locked(profile)
    if profile.is_default:
        return profile
    previous = _take_default(profile)
    profile.save(update_fields=["is_default", "updated_at"])
    outcome = f"instead of {previous}" if previous else ""
    audit(actor, AuditAction.MADE_DEFAULT, profile, changed=["is_default"], outcome=outcome)
    return profile


def _record_test[P: (StorageProfile, EngineProfile)](
    actor: Actor, profile: P, result: ProbeOutcome
) -> P:
    """Keep the outcome of a Test on the profile and in the audit log."""
    profile.record_test(ok=result.ok, message=result.message)
    profile.save(update_fields=["last_tested_at", "last_test_ok", "last_test_message"])
    outcome = "ok" if result.ok else f"failed: {result.message}"
    audit(actor, AuditAction.TESTED, profile, outcome=outcome)
    return profile


def _record_draft_test(
    actor: Actor, target: StorageProfile | EngineProfile, where: str, result: ProbeOutcome
) -> None:
    outcome = "ok" if result.ok else f"failed: {result.message}"
    audit(actor, AuditAction.TESTED, target, outcome=f"unsaved settings ({where}): {outcome}")


# --- storage profiles ---------------------------------------------------------------------------


def _profile_errors(
    spec: Provider,
    *,
    name: str,
    config: Mapping[str, Any],
    secrets: Mapping[str, str],
    path_template: str,
    pk: int | None = None,
) -> Errors:
    errors = name_errors(StorageProfile, name, pk=pk) | spec.validate(config, secrets)
    if message := path_template_error(path_template):
        errors["path_template"] = message
    return errors


@transaction.atomic
def create_storage_profile(
    actor: Actor,
    *,
    name: str,
    provider: str,
    config: dict[str, Any],
    secrets: dict[str, str],
    path_template: str = "",
    is_default: bool = False,
) -> StorageProfile:
    """A new profile; the first one becomes the default whatever `is_default` says."""
    profile = draft_storage_profile(
        None,
        name=name,
        provider=provider,
        config=config,
        secrets=secrets,
        path_template=path_template,
    )
    if is_default or not StorageProfile.objects.exists():
        _take_default(profile)
    profile.save()
    spec, config = profile.provider_spec, profile.config
    changed = ["name", "provider", *(field for field, value in config.items() if value)]
    changed += _secret_changes((f.name for f in spec.secret_fields), {}, profile.secrets())
    changed += [field for field in ("path_template", "is_default") if getattr(profile, field)]
    audit(actor, AuditAction.CREATED, profile, changed=changed)
    return profile


def draft_storage_profile(
    profile: StorageProfile | None,
    *,
    name: str,
    config: dict[str, Any],
    secrets: dict[str, str],
    provider: str = "",
    clear: Collection[str] = (),
    path_template: str = "",
    is_default: bool = False,
) -> StorageProfile:
    """An unsaved profile of these settings, cleaned and checked as Save checks them (the same
    ValidationError): a new one, or an edit of `profile` (its provider; an empty secret keeps
    the stored one, `clear` drops one). Writes nothing: a Test before saving runs on it."""
    del is_default  # only Save makes a profile the default
    if profile is not None:
        provider = profile.provider
        typed = profile.provider_spec.clean_secrets(secrets)
        secrets = _merge_secrets(profile.secrets(), typed, clear)
    spec = PROVIDERS.get(provider)
    if spec is None:
        raise ValidationError({"provider": "Choose a storage provider."})
    name, path_template = names.clean(name), path_template.strip()
    config, secrets = spec.clean(config), spec.clean_secrets(secrets)
    pk = profile.pk if profile is not None else None
    errors = _profile_errors(
        spec, name=name, config=config, secrets=secrets, path_template=path_template, pk=pk
    )
    _raise_if(errors)
    draft = StorageProfile(name=name, provider=provider, config=config, path_template=path_template)
    draft.set_secrets(secrets)
    return draft


@transaction.atomic
def update_storage_profile(
    actor: Actor,
    profile: StorageProfile,
    *,
    name: str,
    config: dict[str, Any],
    secrets: dict[str, str],
    clear: Collection[str] = (),
    path_template: str,
    is_default: bool,
) -> StorageProfile:
    """Save an edit. An empty secret keeps the stored value; a secret named in `clear` goes
    (unless a new value replaces it). `is_default=False` on the default profile keeps it the
    default: another profile takes over only by becoming the default itself."""
    profile = _locked(profile)
    spec, stored = profile.provider_spec, profile.secrets()
    draft = draft_storage_profile(
        profile,
        name=name,
        config=config,
        secrets=secrets,
        clear=clear,
        path_template=path_template,
    )
    name, config, path_template = draft.name, draft.config, draft.path_template
    merged = draft.secrets()
    old_config = spec.clean(profile.config)
    changed = _value_changes(
        {
            "name": (profile.name, name),
            **{field: (old_config[field], config[field]) for field in config},
            "path_template": (profile.path_template, path_template),
        }
    )
    changed += _secret_changes((f.name for f in spec.secret_fields), stored, merged)
    if is_default and not profile.is_default:
        changed.append("is_default")
        _take_default(profile)
    if not changed:
        return profile
    profile.name, profile.config, profile.path_template = name, config, path_template
    if merged != stored:
        profile.set_secrets(merged)
    profile.save()
    audit(actor, AuditAction.CHANGED, profile, changed=changed)
    return profile


@transaction.atomic
def duplicate_storage_profile(
    actor: Actor, profile: StorageProfile, *, name: str
) -> StorageProfile:
    """A copy under a new name with the same config and secrets; never the default."""
    name = names.clean(name)
    _raise_if(name_errors(StorageProfile, name))
    copy = StorageProfile.objects.create(
        name=name,
        provider=profile.provider,
        config=profile.config,
        encrypted_secrets=profile.encrypted_secrets,
        path_template=profile.path_template,
    )
    audit(actor, AuditAction.DUPLICATED, copy, outcome=f"copy of {profile.name}")
    return copy


@transaction.atomic
def delete_storage_profile(actor: Actor, profile: StorageProfile) -> None:
    """Delete, unless a running job uses it (InUseError). Finished jobs keep their history but
    lose the link; when the default goes, the oldest remaining profile takes over."""
    profile = _locked(profile)
    _refuse_if_in_use(profile, "storage profile")
    _refuse_if_recording(profile)
    profile.jobs.update(storage_profile=None)
    _delete_profile(actor, profile)


@transaction.atomic
def make_default_storage_profile(actor: Actor, profile: StorageProfile) -> StorageProfile:
    """Make this the one default profile."""
    return _make_default(actor, profile)


@transaction.atomic
def record_storage_test(
    actor: Actor, profile: StorageProfile, result: ProbeOutcome
) -> StorageProfile:
    """Keep the outcome of a connection test on the profile and in the audit log; a failed
    one raises an alert."""
    profile = _record_test(actor, profile, result)
    if not result.ok:
        alert_events.storage_test_failed(profile)
    return profile


@transaction.atomic
def record_storage_draft_test(
    actor: Actor, profile: StorageProfile | None, draft: StorageProfile, result: ProbeOutcome
) -> None:
    """Audit a Test of unsaved settings (`draft`, of `profile` when editing one): who tested
    which provider and bucket, and how it went. Nothing else is kept."""
    where = f"{draft.provider_spec.label} · {draft.target}"
    _record_draft_test(actor, profile or draft, where, result)


# --- stream destinations ------------------------------------------------------------------------
DESTINATION_SECRETS = ("server_url", "stream_key")


def _locked_destination(destination: StreamDestination) -> StreamDestination:
    return StreamDestination.objects.select_for_update().get(pk=destination.pk)


def _set_address(destination: StreamDestination, values: Mapping[str, str]) -> None:
    server_url = values.get("server_url", "")
    destination.protocol = destinations.protocol_of(server_url)
    destination.host = destinations.host_of(server_url)
    destination.set_secrets(values)


def _destination_errors(name: str, values: Mapping[str, str], *, pk: int | None = None) -> Errors:
    url_errors = destinations.validate(values.get("server_url", ""), values.get("stream_key", ""))
    return name_errors(StreamDestination, name, pk=pk) | url_errors


def _typed_address(server_url: str, stream_key: str) -> dict[str, str]:
    server_url, stream_key = destinations.normalize(server_url, stream_key)
    return {"server_url": server_url, "stream_key": stream_key}


@transaction.atomic
def create_stream_destination(
    actor: Actor, *, name: str, server_url: str, stream_key: str
) -> StreamDestination:
    name, values = names.clean(name), _typed_address(server_url, stream_key)
    _raise_if(_destination_errors(name, values))
    destination = StreamDestination(name=name)
    _set_address(destination, values)
    destination.save()
    secrets = {key: value for key, value in values.items() if value}
    changed = ["name", "protocol", *_secret_changes(DESTINATION_SECRETS, {}, secrets)]
    audit(actor, AuditAction.CREATED, destination, changed=changed)
    return destination


@transaction.atomic
def update_stream_destination(
    actor: Actor,
    destination: StreamDestination,
    *,
    name: str,
    server_url: str,
    stream_key: str,
    clear: Collection[str] = (),
) -> StreamDestination:
    """Save an edit; empty values keep the stored ones, names in `clear` remove them."""
    destination = _locked_destination(destination)
    name = names.clean(name)
    stored = destination.secrets()
    merged = _merge_secrets(stored, _typed_address(server_url, stream_key), clear)
    _raise_if(_destination_errors(name, merged, pk=destination.pk))
    before = (destination.protocol, destination.host)
    changed = _value_changes({"name": (destination.name, name)})
    changed += _secret_changes(DESTINATION_SECRETS, stored, merged)
    if not changed:
        return destination
    destination.name = name
    _set_address(destination, merged)
    changed += _value_changes(
        {
            "protocol": (before[0], destination.protocol),
            "host": (before[1], destination.host),
        }
    )
    destination.save()
    audit(actor, AuditAction.CHANGED, destination, changed=changed)
    return destination


@transaction.atomic
def duplicate_stream_destination(
    actor: Actor, destination: StreamDestination, *, name: str
) -> StreamDestination:
    name = names.clean(name)
    _raise_if(name_errors(StreamDestination, name))
    copy = StreamDestination.objects.create(
        name=name,
        protocol=destination.protocol,
        host=destination.host,
        encrypted_secrets=destination.encrypted_secrets,
    )
    audit(actor, AuditAction.DUPLICATED, copy, outcome=f"copy of {destination.name}")
    return copy


@transaction.atomic
def delete_stream_destination(actor: Actor, destination: StreamDestination) -> None:
    """Delete, unless a running job streams to it (InUseError)."""
    destination = _locked_destination(destination)
    _refuse_if_in_use(destination, "stream destination")
    audit(actor, AuditAction.DELETED, destination)
    destination.delete()


# --- keys ---------------------------------------------------------------------------------------
@transaction.atomic
def rotate_all_secrets(actor: Actor = None) -> int:
    """Re-encrypt every stored secret with the newest key; how many were. SecretKeyError (and
    nothing changed) when some stored secret cannot be decrypted with any configured key."""
    count = 0
    for model in (StorageProfile, StreamDestination, EgressJob, EngineProfile, AlertChannel):
        rows = model.objects.select_for_update().exclude(encrypted_secrets="")
        for pk, token in rows.values_list("pk", "encrypted_secrets"):
            model.objects.filter(pk=pk).update(encrypted_secrets=reencrypt(token))
            count += 1
    audit(actor, AuditAction.ROTATED, None, outcome=f"{count} re-encrypted with the newest key")
    return count
