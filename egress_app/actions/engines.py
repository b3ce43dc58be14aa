"""Engine profiles' named state changes: create, edit, delete, make default, record a Test.

Like storage profiles (actions/vault.py): one transaction each, audited inside it; bad input
raises `ValidationError({field: message})` before anything is written; secrets are encrypted,
write-only, and an empty one keeps what is stored.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from egress_app import names
from egress_app.actions.vault import (
    SHOWN_JOB_IDS,
    Actor,
    Errors,
    InUseError,
    ProbeOutcome,
    _delete_profile,
    _locked,
    _make_default,
    _merge_secrets,
    _raise_if,
    _record_draft_test,
    _record_test,
    _secret_changes,
    _take_default,
    _value_changes,
    audit,
    name_errors,
)
from egress_app.crypto import SecretKeyError
from egress_app.models import AuditAction, EngineKind, EngineProfile, Transcription, being_written
from egress_app.transcribe import kinds
from egress_app.transcribe.engines import MIX, EngineSettings
from egress_app.transcribe.probe import (
    EngineTestResult,
    EngineTestStep,
    load_speech,
    run_engine_test,
)
from egress_app.transcribe.registry import engine_for

# The sandbox's host reading its first sentence: real speech every engine should hear.
TEST_SPEECH = Path(__file__).resolve().parents[1] / "sandbox" / "assets" / "host.wav"
TEST_SECONDS = 3.0


SECRET_LENGTH = 4000
VALUE_LENGTH = 500


def _check_kind(kind: str) -> str:
    if kind not in kinds.FIELDS:
        raise ValidationError({"kind": "Choose an engine."})
    return kind


def _clean_secrets(kind: str, secrets: Mapping[str, str]) -> dict[str, str]:
    """The kind's secret fields that have a value, stripped."""
    names = {field.name for field in kinds.secret_fields(kind)}
    return {k: str(v).strip() for k, v in secrets.items() if k in names and str(v).strip()}


def _unstorable(values: Mapping[str, Any], limit: int) -> Errors:
    """Text no engine takes and a database may refuse (NUL in PostgreSQL's JSON), whatever
    the kind's own rules say."""
    return {
        name: "Use printable characters only, and fewer of them."
        for name, value in values.items()
        if isinstance(value, str) and (len(value) > limit or not value.isprintable())
    }


def _errors(
    kind: str, name: str, config: dict[str, Any], secrets: dict[str, str], pk: int | None = None
) -> Errors:
    try:
        found = kinds.errors(kind, config, secrets, production=settings.PRODUCTION)
    except ValueError:  # urlsplit refuses some URLs ("wss://[::1") outright
        found = {"url": "Enter a valid websocket URL."}
    found = _unstorable(config, VALUE_LENGTH) | _unstorable(secrets, SECRET_LENGTH) | found
    return name_errors(EngineProfile, name, pk=pk) | found


@transaction.atomic
def create_engine_profile(
    actor: Actor,
    *,
    name: str,
    kind: str,
    config: dict[str, Any],
    secrets: dict[str, str],
    is_default: bool = False,
) -> EngineProfile:
    """A new profile; the first one becomes the default whatever `is_default` says."""
    profile = draft_engine_profile(None, name=name, kind=kind, config=config, secrets=secrets)
    config, secrets = profile.config, profile.secrets()
    if is_default or not EngineProfile.objects.exists():
        _take_default(profile)
    profile.save()
    changed = ["name", "kind", *(field for field, value in config.items() if value)]
    changed += _secret_changes((f.name for f in kinds.secret_fields(kind)), {}, secrets)
    changed += ["is_default"] if profile.is_default else []
    audit(actor, AuditAction.CREATED, profile, changed=changed)
    return profile


@transaction.atomic
def update_engine_profile(
    actor: Actor,
    profile: EngineProfile,
    *,
    name: str,
    config: dict[str, Any],
    secrets: dict[str, str],
    clear: Collection[str] = (),
    is_default: bool = False,
) -> EngineProfile:
    """Save an edit. An empty secret keeps the stored value; one named in `clear` goes (unless
    a new value replaces it). The default stays the default until another takes over."""
    profile = _locked(profile)
    kind, stored = profile.kind, profile.secrets()
    draft = draft_engine_profile(profile, name=name, config=config, secrets=secrets, clear=clear)
    name, config, merged = draft.name, draft.config, draft.secrets()
    old = profile.config
    fields = [field.name for field in kinds.config_fields(kind)]
    changed = _value_changes(
        {"name": (profile.name, name), **{k: (old.get(k), config.get(k)) for k in fields}}
    )
    changed += _secret_changes((f.name for f in kinds.secret_fields(kind)), stored, merged)
    if is_default and not profile.is_default:
        changed.append("is_default")
        _take_default(profile)
    if not changed:
        return profile
    profile.name, profile.config = name, config
    if merged != stored:
        profile.set_secrets(merged)
    profile.save()
    audit(actor, AuditAction.CHANGED, profile, changed=changed)
    return profile


def draft_engine_profile(
    profile: EngineProfile | None,
    *,
    name: str,
    config: dict[str, Any],
    secrets: dict[str, str],
    kind: str = "",
    clear: Collection[str] = (),
    is_default: bool = False,
) -> EngineProfile:
    """An unsaved profile of these settings, cleaned and checked as Save checks them (the same
    ValidationError): a new one, or an edit of `profile` (its kind; an empty secret keeps the
    stored one, `clear` drops one). Writes nothing: a Test before saving runs on it."""
    del is_default  # only Save makes a profile the default
    if profile is not None:
        kind = profile.kind
        secrets = _merge_secrets(profile.secrets(), _clean_secrets(kind, secrets), clear)
    kind = _check_kind(kind)
    name, config = names.clean(name), kinds.clean(kind, config)
    secrets = _clean_secrets(kind, secrets)
    pk = profile.pk if profile is not None else None
    _raise_if(_errors(kind, name, config, secrets, pk=pk))
    draft = EngineProfile(name=name, kind=kind, config=config)
    draft.set_secrets(secrets)
    return draft


def _refuse_if_transcribing(profile: EngineProfile) -> None:
    """A running session's transcription talks to the engine with this profile's key."""
    running = Transcription.objects.filter(being_written(), profile=profile).order_by("created_at")
    rooms = list(running.values_list("session__room_name", flat=True)[:SHOWN_JOB_IDS])
    if rooms:
        raise InUseError(
            f"The engine profile “{profile.name}” cannot be deleted while a running session "
            f"transcribes with it ({', '.join(rooms)}). Stop its transcription or the session "
            "first, then delete it."
        )


@transaction.atomic
def delete_engine_profile(actor: Actor, profile: EngineProfile) -> None:
    """Delete, unless a running session transcribes with it (InUseError). Past transcripts keep
    the profile's name and engine; when the default goes, the oldest remaining takes over."""
    profile = _locked(profile)
    _refuse_if_transcribing(profile)
    _delete_profile(actor, profile)


@transaction.atomic
def make_default_engine_profile(actor: Actor, profile: EngineProfile) -> EngineProfile:
    return _make_default(actor, profile)


@transaction.atomic
def record_engine_test(actor: Actor, profile: EngineProfile, result: ProbeOutcome) -> EngineProfile:
    """Keep the outcome of a Test on the profile and in the audit log."""
    return _record_test(actor, _locked(profile), result)


@transaction.atomic
def record_engine_draft_test(
    actor: Actor, profile: EngineProfile | None, draft: EngineProfile, result: ProbeOutcome
) -> None:
    """Audit a Test of unsaved settings (`draft`, of `profile` when editing one): who tested
    which engine, and how it went. Nothing else is kept."""
    _record_draft_test(actor, profile or draft, EngineKind(draft.kind).label, result)


def engine_settings(profile: EngineProfile, channels: tuple[str, ...] = (MIX,)) -> EngineSettings:
    """What a stream of this profile is opened with (SecretKeyError when its secrets cannot be
    decrypted with the configured keys)."""
    return EngineSettings(
        config=dict(profile.config),
        secrets=profile.secrets(),
        channels=channels,
        languages=languages(profile.config),
        names=dict.fromkeys(channels, "Engine test"),
    )


def languages(config: Mapping[str, Any]) -> list[str]:
    """The profile's language codes: Gladia's list, or Deepgram's and the built-in engine's
    one (none for Deepgram's "multi", or when the engine is to detect it)."""
    value = config.get("languages", config.get("language", ""))
    codes = value if isinstance(value, list) else [value]
    return [str(code) for code in codes if code and code != "multi"]


def run_engine_profile_test(profile: EngineProfile) -> EngineTestResult:
    """Run a Test of the saved profile (blocks for up to ENGINE_TEST_TIMEOUT; records nothing:
    `record_engine_test` keeps the outcome). Never raises."""
    try:
        engine = engine_for(profile.kind)
        opened_with = engine_settings(profile)
    except SecretKeyError as error:
        return _failed(str(error))
    speech = load_speech(TEST_SPEECH, TEST_SECONDS)
    # A Forward service need not answer at all: only one asked for results must.
    answers = profile.kind != "forward" or bool(profile.config.get("results"))
    timeout = settings.ENGINE_TEST_TIMEOUT
    return run_engine_test(engine, opened_with, speech, timeout=timeout, expect_words=answers)


def _failed(message: str) -> EngineTestResult:
    steps = [EngineTestStep("connect", False, message, 0.0)]
    steps += [EngineTestStep(name, False, "skipped", 0.0) for name in ("send", "result", "close")]
    return EngineTestResult(False, message, steps)
