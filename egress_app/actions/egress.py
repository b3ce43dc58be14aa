"""Egress jobs: start, stop and update egresses in LiveKit, and fold LiveKit's view into the job.

`calls` says how each LiveKit call and the job row around it go (short transactions, errors
kept in plain words); `launches` looks for the egress of a Start LiveKit never answered.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, partial

from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from livekit.protocol import egress

from egress_app import events, limits
from egress_app.actions import alert_events, ledger
from egress_app.actions.calls import (
    JobError,
    LaunchError,
    _call,
    _change,
    _fetch_info,
    _fresh,
    _set_error,
    _with_info,
)
from egress_app.actions.launches import _launched, _reconcile
from egress_app.actions.vault import Actor, actor_id, audit, signed_in
from egress_app.crypto import encrypt_json
from egress_app.launch.config import STREAM_FAMILIES, GivenConfig, LaunchConfig
from egress_app.launch.normalize import normalize_launch_config, storage_needed
from egress_app.launch.outputs import adhoc_url_error
from egress_app.launch.requests import StartCall, build_start_call, stream_urls
from egress_app.launch.validation import validate_launch_config
from egress_app.livekit import (
    LiveKitError,
    LiveKitTimeout,
    LiveKitUnreachable,
    get_livekit_client,
)
from egress_app.livekit.redact import redact_stream_url
from egress_app.models import (
    AuditAction,
    EgressJob,
    LaunchState,
    LedgerSource,
    StorageProfile,
    StreamDestination,
)
from egress_app.roles import may_control

LAYOUT_LENGTH = 100
GONE_PROFILE = "The chosen storage profile no longer exists."
GONE_DESTINATION = "A chosen destination no longer exists."
# The job's kept URLs that are stream outputs (UpdateStream can add and remove them).
STREAM_REFS = ("destination:", "adhoc:")
# The job's kept track egress websocket URL (its query may hold a token).
WEBSOCKET_REF = "track:websocket_url"


# --- start --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Launch:
    """Everything one Start needs, prepared before the job row is written."""

    config: LaunchConfig
    profile: StorageProfile | None
    destinations: list[StreamDestination]
    adhoc_urls: list[str]
    call: StartCall

    @cached_property
    def kept(self) -> dict[str, str]:
        """Output reference -> the real URL LiveKit dials, kept encrypted on the job."""
        urls = stream_urls(self.destinations, self.adhoc_urls)
        refs = [f"destination:{d.pk}" for d in self.destinations]
        refs += [f"adhoc:{n}" for n in range(len(self.adhoc_urls))]
        kept = dict(zip(refs, urls, strict=True))
        if (track := self.config.get("track")) and track["websocket_url"]:
            kept[WEBSOCKET_REF] = track["websocket_url"]
        return kept

    @property
    def stored_config(self) -> LaunchConfig:
        """The configuration as the job keeps it: a websocket URL's token is not kept there."""
        config = copy.deepcopy(self.config)
        if (track := config.get("track")) and track.get("websocket_url"):
            track["websocket_url"] = redact_stream_url(track["websocket_url"])
        return config


def _token(value: str | uuid.UUID) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise ValidationError(
            {"launch_token": "This form is out of date: reload the page and try again."}
        ) from None


def _prepare(config: GivenConfig, adhoc_urls: Sequence[str]) -> _Launch:
    adhoc = [url.strip() for url in adhoc_urls if url.strip()]
    errors = validate_launch_config(config, adhoc_urls=adhoc)
    if errors:
        raise ValidationError(errors)
    clean = normalize_launch_config(config, adhoc_urls=adhoc)
    profile_id = clean["storage_profile_id"]
    profile = None
    if profile_id is not None and storage_needed(clean):
        profile = StorageProfile.objects.filter(pk=profile_id).first()
        if profile is None:  # deleted since the validation
            raise ValidationError({"storage_profile_id": GONE_PROFILE})
    stream = clean["outputs"]["stream"]
    ids = list(stream["destination_ids"]) if stream is not None else []
    found = StreamDestination.objects.in_bulk(ids)
    if not set(ids) <= set(found):
        raise ValidationError({"outputs.stream.destination_ids": GONE_DESTINATION})
    destinations = [found[pk] for pk in ids]
    call = build_start_call(clean, profile=profile, destinations=destinations, adhoc_urls=adhoc)
    return _Launch(clean, profile, destinations, adhoc, call)


def _create_job(
    actor: Actor, token: uuid.UUID, launch: _Launch, retry_of: EgressJob | None = None
) -> tuple[EgressJob, bool]:
    kept = launch.kept
    adhoc = [redact_stream_url(url) for url in launch.adhoc_urls]
    with transaction.atomic():
        job, created = EgressJob.objects.get_or_create(
            launch_token=token,
            defaults={
                "kind": launch.config["kind"],
                "room_name": launch.config.get("room_name") or "",
                "status": "",
                "launch_state": LaunchState.LAUNCHING,
                "started_by_id": actor_id(actor),
                "config": launch.stored_config,
                "storage_profile": launch.profile,
                "adhoc_outputs": adhoc,
                "encrypted_secrets": encrypt_json(kept) if kept else "",
                "retry_of": retry_of,
            },
        )
        if created:
            job.destinations.set(launch.destinations)
            _audit_start(actor, job)
            events.announce_job(job, was_active=False, created=True)
    return job, created


def _audit_start(actor: Actor, job: EgressJob) -> None:
    if job.retry_of is None:
        audit(actor, AuditAction.STARTED, job)
        return
    audit(actor, AuditAction.STARTED, job, outcome=f"retry of job {job.retry_of.pk}")
    audit(actor, AuditAction.RETRIED, job.retry_of, outcome=f"as job {job.pk}")


def start_egress(
    actor: Actor,
    config: GivenConfig,
    *,
    launch_token: str | uuid.UUID,
    adhoc_urls: Sequence[str] = (),
    retry_of: EgressJob | None = None,
    limited: bool = True,
) -> EgressJob:
    """Start the egress `config` describes, once per `launch_token`; the new job records
    `retry_of`, the job it launches again (Retry, Clone and edit).

    A token seen before returns its job as it stands, without calling LiveKit again. An invalid
    config raises ValidationError and writes nothing. LiveKit refusing the start, or never
    answering with no egress found for it, raises LaunchError with the job keeping the error.
    One more egress than EGRESS_CONCURRENCY_LIMIT allows raises ValidationError too, unless
    the caller checked the limit for a batch it starts (`limited=False`: an audio session's taps).
    """
    if (existing := launched_with(launch_token)) is not None:
        return existing
    launch = _prepare(config, adhoc_urls)
    if limited:
        _check_capacity(launch)
    job, created = _create_job(actor, _token(launch_token), launch, retry_of)
    if not created:
        return job
    return _launch(job, launch)


def _check_capacity(launch: _Launch) -> None:
    """EGRESS_CONCURRENCY_LIMIT: a refused start also raises an alert."""
    try:
        limits.check_capacity()
    except ValidationError as error:
        config = launch.config
        room, kind = config.get("room_name", ""), str(config.get("kind", ""))
        alert_events.concurrency_refused(" ".join(error.messages), room=room, kind=kind)
        raise


def launched_with(launch_token: str | uuid.UUID) -> EgressJob | None:
    """The job a launch token has already started (a second submit of the same form), if any.
    ValidationError for a token that is not one."""
    return EgressJob.objects.filter(launch_token=_token(launch_token)).first()


def _launch(job: EgressJob, launch: _Launch) -> EgressJob:
    client = get_livekit_client()
    try:
        info = _call(client.start, launch.call.rpc, launch.call.request)
    except LiveKitError as error:
        if _may_have_started(error):
            return _reconcile(job, launch.call.request, error)
        raise _refused(job, error, launch.call.rpc, list(launch.kept.values())) from error
    return _launched(job, info)


def _may_have_started(error: LiveKitError) -> bool:
    # The client says so when the request may have reached LiveKit before the connection broke.
    return isinstance(error, LiveKitTimeout) or (
        isinstance(error, LiveKitUnreachable) and "may still have been created" in error.message
    )


def _refused(job: EgressJob, error: LiveKitError, rpc: str, urls: Sequence[str]) -> LaunchError:
    """The job marked `refused` with LiveKit's error (and the answer in the ledger), as the
    LaunchError to raise."""

    def refused(row: EgressJob) -> None:
        row.launch_state = LaunchState.REFUSED
        _set_error(row, error, urls)

    with transaction.atomic():
        job = _change(job, refused)
        ledger.record_refusal(job, rpc)
    return LaunchError(job)


# --- stop and updates ---------------------------------------------------------------------------
NOT_YOURS = "Only the person who started this job, or an admin, may stop or change it."
Rule = Callable[[AbstractUser | AnonymousUser, EgressJob], bool]


def _require_control(actor: Actor, job: EgressJob) -> None:
    """Refuse a person `roles.may_control` does not let control the job (the views check it
    too)."""
    require_person(actor, job, may_control, NOT_YOURS)


def require_person(actor: Actor, job: EgressJob, rule: Rule, refusal: str) -> None:
    """Refuse a person `rule` does not allow this job (a user model without permissions is
    allowed nothing); `None`, the system, may."""
    if actor is None:
        return
    if not isinstance(actor, AbstractUser | AnonymousUser) or not rule(actor, job):
        raise PermissionDenied(refusal)


def _done(
    actor: Actor,
    job: EgressJob,
    info: egress.EgressInfo,
    action: AuditAction,
    *,
    change: Callable[[EgressJob], object] | None = None,
    outcome: str = "",
) -> EgressJob:
    """LiveKit's answer folded into the job (`_with_info`) and who asked for the change, in
    one transaction."""
    with transaction.atomic():
        audit(actor, action, job, outcome=outcome)  # first: the job's timeline reads in order
        return _with_info(job, info, change)


def _require(job: EgressJob, allowed: bool, verb: str, reason: str) -> None:
    """Refuse, without calling LiveKit, what the job's state rules out."""
    if not job.egress_id or job.launch_state != LaunchState.LAUNCHED:
        state = job.get_launch_state_display().lower()
        raise JobError(job, f"This job has no egress in LiveKit ({state}): it cannot be {verb}.")
    if job.status not in EgressJob.UPDATABLE_STATUSES:
        raise JobError(
            job, f"This job has already ended ({job.status_label.lower()}): it cannot be {verb}."
        )
    if not allowed:
        raise JobError(job, reason)


def _failed(
    job: EgressJob, error: LiveKitError, rpc: str, verb: str, urls: Sequence[str] = ()
) -> JobError:
    """LiveKit's refusal of `rpc` kept on the job and in its ledger, as the JobError to raise.
    When the egress has ended meanwhile (failed_precondition), the job shows its final state
    instead."""
    if error.code == "failed_precondition":
        info = _fetch_info(job)
        if info is not None:
            job = ledger.observe(info, LedgerSource.API).job or job
        if not job.is_updatable:
            return JobError(
                job,
                f"LiveKit says the egress has already ended ({job.status_label.lower()}): it "
                f"cannot be {verb}. The job now shows its final state.",
            )
    with transaction.atomic():
        job = _change(job, lambda row: _set_error(row, error, urls))
        ledger.record_refusal(job, rpc)
    return JobError(job, job.error)


def stop_egress(actor: Actor, job: EgressJob) -> EgressJob:
    """Ask LiveKit to stop the egress; the job shows LiveKit's answer (normally ENDING)."""
    job = _fresh(job)
    _require_control(actor, job)
    return _stop(actor, job)


def _stop(actor: Actor, job: EgressJob, *, outcome: str = "") -> EgressJob:
    """StopEgress for a job whose control the caller has checked (an audio session's tap, the
    worker at a launch's maximum duration, which says so in `outcome`)."""
    _require(job, job.can_stop, "stopped", "")
    try:
        info = _call(get_livekit_client().stop_egress, job.egress_id)
    except LiveKitError as error:
        raise _failed(job, error, "StopEgress", "stopped") from error
    return _done(actor, job, info, AuditAction.STOPPED, outcome=outcome)


def update_layout(actor: Actor, job: EgressJob, layout: str) -> EgressJob:
    """Switch a room composite's layout (LiveKit passes it to the template)."""
    layout = layout.strip()
    if not layout or len(layout) > LAYOUT_LENGTH:
        raise ValidationError({"layout": f"Give a layout of 1 to {LAYOUT_LENGTH} characters."})
    job = _fresh(job)
    _require_control(actor, job)
    reason = "Only a room composite (a layout template) has a layout to change."
    _require(job, job.can_update_layout, "updated", reason)
    try:
        info = _call(get_livekit_client().update_layout, job.egress_id, layout)
    except LiveKitError as error:
        raise _failed(job, error, "UpdateLayout", "updated") from error
    before = (job.config.get("room_composite") or {}).get("layout")
    outcome = f"{before} → {layout}" if before else f"to {layout}"
    change = partial(_set_layout, layout=layout)
    return _done(actor, job, info, AuditAction.LAYOUT_CHANGED, change=change, outcome=outcome)


def _set_layout(job: EgressJob, layout: str) -> None:
    config = dict(job.config)
    config["room_composite"] = {**(config.get("room_composite") or {}), "layout": layout}
    job.config = config


NO_STREAM = "This job has no stream output to change."


def add_stream_outputs(
    actor: Actor,
    job: EgressJob,
    *,
    destination_ids: Sequence[int] = (),
    adhoc_urls: Sequence[str] = (),
) -> EgressJob:
    """Stream to more destinations and/or ad-hoc URLs while the egress runs."""
    job = _fresh(job)
    _require_control(actor, job)
    _require(job, job.can_update_stream, "updated", NO_STREAM)
    destinations = _new_destinations(job, destination_ids)
    adhoc = _new_adhoc(job, adhoc_urls)
    if not destinations and not adhoc:
        raise ValidationError({"destination_ids": "Choose a destination or give a stream URL."})
    dialled = dict(
        zip(
            (f"destination:{d.pk}" for d in destinations),
            stream_urls(destinations, []),
            strict=True,
        )
    )
    urls = [*dialled.values(), *adhoc]
    _check_families(job, urls)
    try:
        info = _call(get_livekit_client().update_stream, job.egress_id, add_output_urls=urls)
    except LiveKitError as error:
        raise _failed(job, error, "UpdateStream", "updated", urls) from error
    change = partial(_attach, destinations=destinations, dialled=dialled, adhoc=adhoc)
    outcome = _added(actor, job, [d.name for d in destinations], adhoc)
    return _done(actor, job, info, AuditAction.STREAMS_ADDED, change=change, outcome=outcome)


def _added(actor: Actor, job: EgressJob, names: list[str], adhoc: Sequence[str]) -> str:
    """What was added, URLs masked; whether someone other than the job's owner added it (they
    may be restreaming another's show: admins look for these in the audit log)."""
    added = ", ".join([*names, *(redact_stream_url(url) for url in adhoc)])
    user = signed_in(actor)
    if user is not None and user.pk == job.started_by_id:
        return added
    owner = job.started_by.get_username() if job.started_by else "started outside the dashboard"
    return f"{added} · {NOT_BY_OWNER} ({owner})"


NOT_BY_OWNER = "added by someone other than the job's owner"


def _new_destinations(job: EgressJob, ids: Sequence[int]) -> list[StreamDestination]:
    wanted = list(dict.fromkeys(ids))
    found = StreamDestination.objects.in_bulk(wanted)
    if len(found) != len(wanted):
        raise ValidationError({"destination_ids": GONE_DESTINATION})
    attached = list(job.destinations.filter(pk__in=wanted).values_list("name", flat=True))
    if attached:
        names = ", ".join(attached)
        raise ValidationError({"destination_ids": f"The job already streams to {names}."})
    return [found[pk] for pk in wanted]


def _new_adhoc(job: EgressJob, urls: Sequence[str]) -> list[str]:
    cleaned = list(dict.fromkeys(url.strip() for url in urls if url.strip()))
    errors = [message for url in cleaned if (message := adhoc_url_error(url))]
    if errors:
        raise ValidationError({"adhoc_urls": errors[0]})
    if set(cleaned) & set(job.secrets().values()):
        raise ValidationError({"adhoc_urls": "The job already streams to that URL."})
    return cleaned


def _check_families(job: EgressJob, new: Sequence[str]) -> None:
    """LiveKit keeps one stream output per egress: RTMP URLs or SRT URLs, never both."""
    urls = [url for ref, url in job.secrets().items() if ref.startswith(STREAM_REFS)]
    families = {STREAM_FAMILIES.get(url.partition("://")[0].lower()) for url in [*urls, *new]}
    if len(families) > 1:
        message = "This job streams over one protocol: RTMP URLs or SRT URLs, not both."
        raise ValidationError({NON_FIELD_ERRORS: message})


def _attach(
    job: EgressJob,
    destinations: Sequence[StreamDestination],
    dialled: dict[str, str],
    adhoc: list[str],
) -> None:
    """Record outputs LiveKit accepted; ad-hoc ones are numbered after every earlier one."""
    first = len(job.adhoc_outputs)
    kept = {**dialled, **{f"adhoc:{first + n}": url for n, url in enumerate(adhoc)}}
    job.destinations.add(*destinations)
    job.set_secrets({**job.secrets(), **kept})
    job.adhoc_outputs = [*job.adhoc_outputs, *(redact_stream_url(url) for url in adhoc)]


def remove_stream_output(actor: Actor, job: EgressJob, *, output: str) -> EgressJob:
    """Stop streaming to one output, `destination:<id>` or `adhoc:<n>`, by its original URL."""
    job = _fresh(job)
    _require_control(actor, job)
    _require(job, job.can_update_stream, "updated", NO_STREAM)
    url = _attached_url(job, output)
    label = dict(job.stream_outputs()).get(output, output)  # a name or a masked URL
    try:
        info = _call(get_livekit_client().update_stream, job.egress_id, remove_output_urls=[url])
    except LiveKitError as error:
        if error.code == "not_found" and "stream" in error.message:
            # LiveKit streams there no more (the stream failed or ended): the output is gone.
            with transaction.atomic():
                job = _change(job, lambda row: _detach(row, output))
                gone = f"{label} (LiveKit no longer streamed there)"
                audit(actor, AuditAction.STREAM_REMOVED, job, outcome=gone)
        raise _failed(job, error, "UpdateStream", "updated", [url]) from error
    change = partial(_detach, output=output)
    return _done(actor, job, info, AuditAction.STREAM_REMOVED, change=change, outcome=label)


def _attached_url(job: EgressJob, output: str) -> str:
    kind, _, number = output.partition(":")
    unknown = ValidationError({"output": "The job does not stream to that output (any more)."})
    if not number.isdigit() or kind not in ("destination", "adhoc"):
        raise unknown
    kept = job.stream_output_url(output)
    if kind == "adhoc":
        index = int(number)
        if index >= len(job.adhoc_outputs) or job.adhoc_outputs[index] is None or not kept:
            raise unknown
        return kept
    destination = job.destinations.filter(pk=int(number)).first()
    if destination is None:
        raise unknown
    return kept or destination.output_url()


def _detach(job: EgressJob, output: str) -> None:
    kind, _, number = output.partition(":")
    if kind == "destination":
        job.destinations.remove(int(number))
    else:
        shown = list(job.adhoc_outputs)
        shown[int(number)] = None
        job.adhoc_outputs = shown
    job.set_secrets({ref: url for ref, url in job.secrets().items() if ref != output})
