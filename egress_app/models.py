from __future__ import annotations

import contextlib
import functools
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from google.protobuf.message import Message
from livekit.protocol import egress

from egress_app.crypto import SecretKeyError, decrypt_json, encrypt_json, hint
from egress_app.livekit import times
from egress_app.livekit.enums import name_of
from egress_app.livekit.scrub import (
    Secrets,
    hide_stream_urls,
    info_dict,
    results_of,
    scrub_info,
    stored_values,
    stream_urls_in,
)
from egress_app.roles import PERMISSIONS
from egress_app.storage import destinations
from egress_app.storage.providers import PROVIDERS, Provider


class Access(models.Model):
    """A table-less anchor for the dashboard's own permissions (see egress_app/roles.py).

    Permissions need a content type; the domain models added later carry their own.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = list(PERMISSIONS.items())
        verbose_name = "dashboard access"

    def __str__(self) -> str:
        return "dashboard access"


# Models with a JSONField declare it, so that Django's JSONField system check need not query the
# database on every run of the checks (tests of the checks run without one). Every backend the
# dashboard supports (PostgreSQL, SQLite with JSON1) has it.
NEEDS_JSON = ("supports_json_field",)


# --- storage profiles and stream destinations -----------------------------------------------
class StorageProvider(models.TextChoices):
    S3 = "s3", "Amazon S3 or S3-compatible"
    GCP = "gcp", "Google Cloud Storage"
    AZURE = "azure", "Azure Blob Storage"
    ALIOSS = "alioss", "Alibaba Cloud OSS"


class UsedByJobsQuerySet(models.QuerySet):
    def with_job_counts(self) -> UsedByJobsQuerySet:
        """Annotate `job_count` (all jobs) and `running_job_count` (jobs still running)."""
        running = running_jobs("jobs__")
        return self.annotate(
            job_count=models.Count("jobs", distinct=True),
            running_job_count=models.Count("jobs", filter=running, distinct=True),
        )


class SecretsMixin(models.Model):
    """Secret values kept as one Fernet token of their JSON (see egress_app/crypto.py)."""

    encrypted_secrets = models.TextField(blank=True, default="")

    class Meta:
        abstract = True

    def secrets(self) -> dict[str, str]:
        """The decrypted secrets; SecretKeyError when no configured key can read them."""
        return decrypt_json(self.encrypted_secrets)

    def set_secrets(self, values: Mapping[str, str]) -> None:
        kept = {name: value for name, value in values.items() if value}
        self.encrypted_secrets = encrypt_json(kept) if kept else ""

    def secret_hints(self) -> dict[str, str]:
        """Field name -> masked hint, for the secrets that are set."""
        return {name: hint(value) for name, value in self.secrets().items() if value}


class StorageProfile(SecretsMixin):
    """Where recordings go: a provider, its non-secret `config` and its encrypted secrets."""

    name = models.CharField(max_length=100, unique=True)
    provider = models.CharField(max_length=16, choices=StorageProvider.choices)
    config = models.JSONField(default=dict, blank=True)
    path_template = models.CharField(
        max_length=500, blank=True, help_text="Default path prefix or filename template."
    )
    is_default = models.BooleanField(default=False)
    last_tested_at = models.DateTimeField(null=True, blank=True)
    last_test_ok = models.BooleanField(null=True, blank=True)
    last_test_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UsedByJobsQuerySet.as_manager()

    class Meta:
        required_db_features = NEEDS_JSON
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="one_default_storage_profile",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def provider_spec(self) -> Provider:
        return PROVIDERS[self.provider]

    @property
    def target(self) -> str:
        """The bucket (or account/container) for lists."""
        return self.provider_spec.target(self.config)

    def upload(self) -> Message:
        """LiveKit's upload message with the decrypted secrets: build it only for the call."""
        return self.provider_spec.upload(self.config, self.secrets())

    def storage_config(self) -> egress.StorageConfig:
        """`egress.StorageConfig` (v2) with the upload message in its provider's slot."""
        return self.provider_spec.storage_config(self.config, self.secrets())

    def record_test(self, *, ok: bool, message: str) -> None:
        self.last_tested_at = timezone.now()
        self.last_test_ok = ok
        self.last_test_message = message


class StreamProtocol(models.TextChoices):
    RTMP = "rtmp", "RTMP"
    RTMPS = "rtmps", "RTMPS"
    SRT = "srt", "SRT"
    MUX = "mux", "Mux"
    TWITCH = "twitch", "Twitch"


class StreamDestination(SecretsMixin):
    """A named live stream target; its server URL and stream key are both secret."""

    name = models.CharField(max_length=100, unique=True)
    protocol = models.CharField(max_length=16, choices=StreamProtocol.choices)
    host = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UsedByJobsQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def output_url(self) -> str:
        """The full URL LiveKit dials, stream key included: build it only for the call."""
        values = self.secrets()
        return destinations.output_url(values.get("server_url", ""), values.get("stream_key", ""))


# --- egress jobs --------------------------------------------------------------------------------
class EgressKind(models.TextChoices):
    ROOM_COMPOSITE = "room_composite", "Room composite"
    WEB = "web", "Web page"
    PARTICIPANT = "participant", "Participant"
    TRACK_COMPOSITE = "track_composite", "Track composite"
    TRACK = "track", "Track"
    UNIFIED = "unified", "Unified"


class EgressStatus(models.TextChoices):
    """LiveKit's EgressStatus, by name."""

    STARTING = "EGRESS_STARTING", "Starting"
    ACTIVE = "EGRESS_ACTIVE", "Active"
    ENDING = "EGRESS_ENDING", "Ending"
    COMPLETE = "EGRESS_COMPLETE", "Complete"
    FAILED = "EGRESS_FAILED", "Failed"
    ABORTED = "EGRESS_ABORTED", "Aborted"
    LIMIT_REACHED = "EGRESS_LIMIT_REACHED", "Limit reached"


def status_of(info: egress.EgressInfo) -> str:
    """The info's status as a job keeps it: LiveKit's name, or the number of a status this
    version of the protocol does not define (a newer LiveKit's), never refused."""
    return name_of(egress.EgressStatus, info.status)


def status_label(status: str) -> str:
    """What a page shows for a kept status: its label, or "unknown (7)"."""
    return EgressStatus(status).label if status in EgressStatus.values else f"unknown ({status})"


class LaunchState(models.TextChoices):
    """Where the dashboard's Start call stands; `status` only describes an egress that exists."""

    LAUNCHING = "launching", "Launching"
    LAUNCHED = "launched", "Launched"
    REFUSED = "refused", "Refused by LiveKit"
    UNKNOWN = "unknown", "No answer from LiveKit"


class JobFlag(models.TextChoices):
    """Why the reconciler thinks a job needs a person; blank when nothing is wrong."""

    STUCK_STARTING = "stuck_starting", "Stuck in STARTING"
    LOST = "lost", "Unknown to LiveKit"
    SILENT = "silent", "Active with no news"

    @property
    def explanation(self) -> str:
        return {
            JobFlag.STUCK_STARTING: (
                "Still starting long after it was asked for: egress may have no worker free, "
                "or the egress is stuck."
            ),
            JobFlag.LOST: (
                "LiveKit no longer knows this egress: it ended without telling the dashboard, "
                "or LiveKit restarted."
            ),
            JobFlag.SILENT: (
                "LiveKit still lists this egress as running, but nothing about it has changed "
                "for a long time: it may have hung, or outlived its room."
            ),
        }[self]


class Triage(models.TextChoices):
    """Where support stands with a job that needs a person (blank: still open)."""

    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class EgressJob(SecretsMixin):
    """One egress started from the dashboard; `config` never holds secret values.

    The row exists before LiveKit answers (`launch_state` launching, no `egress_id`, blank
    `status`). `encrypted_secrets` maps each stream output (`destination:<id>`, `adhoc:<n>`) to
    the exact URL LiveKit dials, since UpdateStream removes a stream by its original URL and
    LiveKit only ever shows redacted copies; a track egress's websocket URL is kept there too.
    """

    ACTIVE_STATUSES = (EgressStatus.STARTING, EgressStatus.ACTIVE, EgressStatus.ENDING)
    FAILED_STATUSES = (EgressStatus.FAILED, EgressStatus.ABORTED, EgressStatus.LIMIT_REACHED)
    # What `apply_info` changes (and a flag it may settle): all an update from LiveKit saves.
    INFO_FIELDS = (
        "status",
        "room_name",
        "started_at",
        "ended_at",
        "updated_at",
        "error",
        "details",
        "error_code",
        "results",
        "info",
        "flag",
        "flagged_at",
    )
    # What `failures.keep_cause` may change before a save, from the fields the cause depends on.
    CAUSE_FIELDS = ("cause", "triage", "triaged_by", "triaged_at")
    # LiveKit accepts Stop/Update only in these (a later one answers failed_precondition).
    UPDATABLE_STATUSES = (EgressStatus.STARTING, EgressStatus.ACTIVE)

    egress_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    launch_token = models.UUIDField(unique=True, null=True, blank=True, editable=False)
    launch_state = models.CharField(
        max_length=16, choices=LaunchState.choices, default=LaunchState.LAUNCHED
    )
    kind = models.CharField(max_length=32, choices=EgressKind.choices)
    # A room name is as long as the LiveKit server lets it be: 256 bytes by default, any length
    # once `limit.max_room_name_length` is 0 (livekit/livekit pkg/config/config.go,
    # LimitConfig.CheckRoomNameLength). Kept whole; identities and metadata only live in JSON.
    room_name = models.TextField(blank=True)
    status = models.CharField(
        max_length=32, choices=EgressStatus.choices, default=EgressStatus.STARTING, blank=True
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="egress_jobs",
    )
    config = models.JSONField(default=dict, blank=True)
    storage_profile = models.ForeignKey(
        StorageProfile, null=True, blank=True, on_delete=models.PROTECT, related_name="jobs"
    )
    destinations = models.ManyToManyField(StreamDestination, blank=True, related_name="jobs")
    # Every ad-hoc stream URL ever attached, redacted, by number (`adhoc:<n>`); None once removed.
    adhoc_outputs = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    error_code = models.IntegerField(null=True, blank=True)
    details = models.TextField(blank=True)
    results = models.JSONField(default=dict, blank=True)
    info = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Started outside the dashboard (auto egress, the CLI, another app): known from LiveKit only.
    external = models.BooleanField(default=False)
    # What the reconciler noticed that needs a person (stuck in STARTING, unknown to LiveKit).
    flag = models.CharField(max_length=16, choices=JobFlag.choices, blank=True)
    flagged_at = models.DateTimeField(null=True, blank=True)
    # The reconciler's claim on the row (several workers never check the same job at once).
    checked_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim = models.UUIDField(null=True, blank=True, editable=False)
    # Why it needs a person (egress_app.failures: a cause's key, or "unknown:<message>"), blank
    # when it does not; kept by `failures.keep_cause` on every save. Support triages it.
    cause = models.CharField(max_length=255, blank=True)
    triage = models.CharField(max_length=16, choices=Triage.choices, blank=True)
    triaged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    triaged_at = models.DateTimeField(null=True, blank=True)
    # The job this one re-launched (Retry, or Clone and edit); its retries are `job.retries`.
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )

    class Meta:
        required_db_features = NEEDS_JSON
        ordering = ["-created_at"]
        # The history's filters and orders (egress_app/history.py): each sortable column with
        # the pk that breaks its ties, so a keyset page reads its rows straight off an index.
        # On PostgreSQL, migration 0010 adds trigram indexes for the error text search.
        indexes = [
            models.Index(fields=["cause", "triage", "created_at"]),
            models.Index(fields=["status", "id"], name="egress_job_status_id"),
            models.Index(fields=["kind", "id"], name="egress_job_kind_id"),
            models.Index(fields=["room_name", "id"], name="egress_job_room_id"),
            models.Index(fields=["started_by", "created_at"]),
            models.Index(fields=["created_at", "id"], name="egress_job_created_id"),
        ]

    def __str__(self) -> str:
        return self.egress_id or f"job {self.pk} ({self.get_launch_state_display().lower()})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """A save that names its fields saves the cause and triage too: the failure catalogue
        brings them up to date before every save (`failures.keep_cause`)."""
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], *self.CAUSE_FIELDS}
        super().save(*args, **kwargs)

    @property
    def status_label(self) -> str:
        """LiveKit's status, or where the launch stands while there is no egress."""
        return status_label(self.status) if self.status else self.get_launch_state_display()

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def is_updatable(self) -> bool:
        launched = self.launch_state == LaunchState.LAUNCHED and bool(self.egress_id)
        return launched and self.status in self.UPDATABLE_STATUSES

    @property
    def can_stop(self) -> bool:
        return self.is_updatable

    @property
    def can_update_layout(self) -> bool:
        return self.is_updatable and _uses_template(self.kind, self.info)

    @property
    def can_update_stream(self) -> bool:
        return self.is_updatable and _has_stream_output(self.config, self.info)

    @property
    def launched_here(self) -> bool:
        """Launched from the dashboard, so it has a configuration of ours to launch again (an
        external job has none)."""
        return not self.external and bool(self.config)

    @property
    def can_retry(self) -> bool:
        """Finished (no egress running, no Start waiting) and launched from the dashboard; not a
        launch LiveKit never answered, whose egress may still appear (a retry could start it
        twice)."""
        waiting = (LaunchState.LAUNCHING, LaunchState.UNKNOWN)
        finished = not self.is_active and self.launch_state not in waiting
        return finished and self.launched_here

    def stream_outputs(self) -> list[tuple[str, str]]:
        """The stream outputs now attached: (`destination:<id>` / `adhoc:<n>`, what to show)."""
        outputs = [(f"destination:{d.pk}", d.name) for d in self.destinations.all()]
        outputs += [(f"adhoc:{n}", url) for n, url in enumerate(self.adhoc_outputs) if url]
        return outputs

    def stream_output_url(self, output: str) -> str | None:
        """The URL LiveKit dials for `output` ("destination:<id>" / "adhoc:<n>"), if kept."""
        return self.secrets().get(output)

    def apply_info(self, info: egress.EgressInfo, secrets: Secrets | None = None) -> bool:
        """Fold LiveKit's view of the egress in (not saved); False, changing nothing, when
        `info` is older than what the job already shows, so late updates never move it back.

        LiveKit's error fields replace the job's whenever LiveKit reports an error or details,
        or the egress has ended; otherwise an error kept by a failed action stays visible.
        Every stored secret is hidden in what is kept (`secrets`: `stored_secrets()`, read
        once for many infos).
        """
        if info.updated_at < _stored_updated_ns(self.info, self.updated_at):
            return False
        self.status = status_of(info)
        self.room_name = info.room_name or self.room_name
        self.started_at = times.from_ns(info.started_at) or self.started_at
        self.ended_at = times.from_ns(info.ended_at) or self.ended_at
        self.updated_at = times.from_ns(info.updated_at) or self.updated_at
        raw = info_dict(info)
        urls = self.hidden_urls(raw)
        secrets = stored_secrets() if secrets is None else secrets
        if info.error or info.details or not self.is_active:
            self.error = hide_stream_urls(info.error, urls, secrets)
            self.details = hide_stream_urls(info.details, urls, secrets)
            self.error_code = info.error_code or None
        self.results = results_of(info, urls, secrets)
        self.info = scrub_info(raw, urls, secrets)
        return True

    @property
    def info_updated_ns(self) -> int:
        """LiveKit's `updated_at` of the state the job shows (0 before any)."""
        return _stored_updated_ns(self.info, self.updated_at)

    def shows(self, info: egress.EgressInfo) -> bool:
        """Whether `info` is exactly the state the job already shows (nothing new)."""
        same_time = info.updated_at == self.info_updated_ns
        return same_time and self.status == status_of(info)

    def hidden_urls(self, raw: Mapping[str, Any]) -> list[str]:
        """Every stream URL to hide in LiveKit's texts about this egress (`raw`, an info as
        `info_dict` gives it): the ones the dashboard dialled, and any the info quotes whole
        (an egress started elsewhere)."""
        return [*self.dialled_urls(), *stream_urls_in(raw)]

    def dialled_urls(self) -> list[str]:
        """The real stream URLs, only to hide them in LiveKit's texts: a missing key must not
        stop an update, so it gives none."""
        try:
            return list(self.secrets().values())
        except SecretKeyError:
            return []


def stored_secrets() -> Secrets:
    """Every stream key and storage credential the dashboard keeps, to hide in what LiveKit
    says before it is stored: a key LiveKit quotes need not be the job's own (an egress started
    elsewhere with it, a key pasted into another destination). One query; the values are
    decrypted again only once some row's secrets changed."""
    destinations = StreamDestination.objects.order_by().values_list("encrypted_secrets", flat=True)
    profiles = StorageProfile.objects.order_by().values_list("encrypted_secrets", flat=True)
    tokens = destinations.union(profiles, all=True).order_by()
    return _secrets_of(frozenset(token for token in tokens if token))


@functools.lru_cache(maxsize=4)
def _secrets_of(tokens: frozenset[str]) -> Secrets:
    values: list[str] = []
    for token in tokens:
        # A token no configured key reads must not stop an update (the server refuses to start
        # with one: egress_app.checks.verify_secret_keys).
        with contextlib.suppress(SecretKeyError):
            values += stored_values(decrypt_json(token))
    return Secrets(values)


def _stored_updated_ns(info: Mapping[str, Any], updated_at: datetime | None) -> int:
    if info.get("updated_at"):
        return int(info["updated_at"])  # exact: int64 kept as a string by json_format
    if updated_at is None:
        return 0
    return times.to_ns(updated_at)


def _uses_template(kind: str, info: Mapping[str, Any]) -> bool:
    """A room composite: v1 RoomComposite or a v2 StartEgress with a template source."""
    request = info.get("egress") or {}
    return kind == EgressKind.ROOM_COMPOSITE or "room_composite" in info or "template" in request


def _has_stream_output(config: Mapping[str, Any], info: Mapping[str, Any]) -> bool:
    outputs = config.get("outputs") or {}
    return bool(outputs.get("stream") or info.get("stream_results"))


def running_jobs(prefix: str = "") -> models.Q:
    """Jobs that hold on to their profile and destinations: an egress still running, or a Start
    call still waiting for LiveKit's answer (no status yet)."""
    return models.Q(**{f"{prefix}status__in": EgressJob.ACTIVE_STATUSES}) | models.Q(
        **{f"{prefix}launch_state": LaunchState.LAUNCHING}
    )


# --- the event ledger ---------------------------------------------------------------------------
class LedgerSource(models.TextChoices):
    WEBHOOK = "webhook", "Webhook"
    POLL = "poll", "Reconciler"
    API = "api", "LiveKit's answer"


class LedgerOutcome(models.TextChoices):
    APPLIED = "applied", "Applied"
    STALE = "stale", "Older than the job's state"
    PENDING = "pending", "Waiting for its job"
    NOTED = "noted", "Noted"
    FLAGGED = "flagged", "Flagged"
    REFUSED = "refused", "Refused"


class LedgerEntry(models.Model):
    """One thing LiveKit told us: a webhook (verified or refused), a reconciler observation, or
    an API answer. `payload` is the event with secrets scrubbed; a refused webhook keeps none
    (its body is unauthenticated), only the reason, the sender and the size."""

    source = models.CharField(max_length=16, choices=LedgerSource.choices)
    outcome = models.CharField(max_length=16, choices=LedgerOutcome.choices)
    event_id = models.CharField(max_length=128, unique=True, null=True, blank=True)
    event = models.CharField(max_length=40, blank=True)
    egress_id = models.CharField(max_length=64, blank=True)
    job = models.ForeignKey(
        EgressJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="ledger"
    )
    status = models.CharField(max_length=32, choices=EgressStatus.choices, blank=True)
    updated_at_ns = models.BigIntegerField(null=True, blank=True)  # LiveKit's EgressInfo.updated_at
    received_at = models.DateTimeField(default=timezone.now)
    room_name = models.TextField(blank=True)
    reason = models.TextField(blank=True)
    remote_addr = models.CharField(max_length=64, blank=True)
    size = models.PositiveIntegerField(default=0)
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        required_db_features = NEEDS_JSON
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["received_at"]),
            models.Index(fields=["egress_id", "outcome"]),
            models.Index(fields=["job", "received_at"]),
            models.Index(fields=["outcome", "received_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.event or self.outcome} {self.egress_id}"

    @property
    def status_label(self) -> str:
        return status_label(self.status) if self.status else ""


# --- audit log ----------------------------------------------------------------------------------
class AuditAction(models.TextChoices):
    CREATED = "created", "Created"
    CHANGED = "changed", "Changed"
    DUPLICATED = "duplicated", "Duplicated"
    TESTED = "tested", "Tested"
    ROTATED = "rotated", "Rotated keys"
    DELETED = "deleted", "Deleted"
    MADE_DEFAULT = "made_default", "Made default"
    # What people do to jobs (the job's timeline shows these too).
    STARTED = "started", "Started"
    RETRIED = "retried", "Retried"
    STOPPED = "stopped", "Stopped"
    LAYOUT_CHANGED = "layout_changed", "Layout changed"
    STREAMS_ADDED = "streams_added", "Streams added"
    STREAM_REMOVED = "stream_removed", "Stream removed"
    TRIAGED = "triaged", "Triaged"
    NOTED = "noted", "Note added"


class AuditTarget(models.TextChoices):
    STORAGE_PROFILE = "storage_profile", "Storage profile"
    STREAM_DESTINATION = "stream_destination", "Stream destination"
    SECRETS = "secrets", "Stored secrets"
    JOB = "job", "Job"
    RECIPE = "recipe", "Recipe"
    AUDIO_SESSION = "audio_session", "Audio session"


class AuditEntry(models.Model):
    """Who did what to which profile, destination, recipe or job, and when; names of changed
    fields and masked stream URLs, never secrets. Support reads the job entries, admins all."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_entries",
    )
    actor_name = models.CharField(max_length=150, blank=True)  # survives the user's deletion
    action = models.CharField(max_length=16, choices=AuditAction.choices)
    target_type = models.CharField(max_length=32, choices=AuditTarget.choices)
    target_id = models.BigIntegerField(null=True, blank=True)
    target_name = models.CharField(max_length=200, blank=True)
    changed_fields = models.JSONField(default=list, blank=True)
    outcome = models.TextField(blank=True)

    class Meta:
        required_db_features = NEEDS_JSON
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.actor_name or 'system'} {self.action} {self.target_name}"


# --- recipes ------------------------------------------------------------------------------------
class Recipe(models.Model):
    """A saved launch configuration, started in a room chosen at launch time.

    `config` is a LaunchConfig without `room_name` and without ad-hoc stream URLs (they hold
    stream keys); stream destinations are kept by id.
    """

    name = models.CharField(max_length=100, unique=True)
    config = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="recipes",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        required_db_features = NEEDS_JSON
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class JobNote(models.Model):
    """What support wrote about a job (plain text, never secrets: shown to every reviewer)."""

    TEXT_LENGTH = 2000

    job = models.ForeignKey(EgressJob, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField(max_length=TEXT_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"note on {self.job}"


# --- audio sessions -----------------------------------------------------------------------------
class AudioSessionState(models.TextChoices):
    RUNNING = "running", "Running"
    ENDED = "ended", "Ended"


class AudioSession(models.Model):
    """Listening to a room: one tap (a Track Egress to our audio endpoint) per microphone."""

    room_name = models.TextField()
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audio_sessions",
    )
    state = models.CharField(
        max_length=16, choices=AudioSessionState.choices, default=AudioSessionState.RUNNING
    )
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    # The reconciler following the room holds the session until then (a conditional update).
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["room_name"],
                condition=models.Q(state="running"),
                name="one_running_audio_session_per_room",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """How the audit log names the session."""
        return f"audio session {self.pk} ({self.room_name})"

    @property
    def is_running(self) -> bool:
        return self.state == AudioSessionState.RUNNING


class TapState(models.TextChoices):
    WAITING = "waiting", "Waiting for egress"
    CONNECTED = "connected", "Connected"
    CLOSED = "closed", "Closed"
    FAILED = "failed", "Not started"


class AudioTap(models.Model):
    """One participant's track as its egress sends it to `/egress/audio/<pk>/`.

    The token egress dials with is kept only as its SHA-256 (`token_hash`), good once (the first
    connection sets `connected_at`) and until `token_expires_at`. `bytes_received` and `muted`
    are written about once a second while audio flows, never per message; `refusals` counts
    connections refused for this tap, `ignored_messages` text messages that were not
    `{"muted": bool}`.
    """

    session = models.ForeignKey(AudioSession, on_delete=models.CASCADE, related_name="taps")
    participant_identity = models.TextField()
    track_sid = models.CharField(max_length=64)
    track_name = models.TextField(blank=True)
    job = models.OneToOneField(
        EgressJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="audio_tap"
    )
    token_hash = models.CharField(max_length=64, editable=False)
    token_expires_at = models.DateTimeField()
    state = models.CharField(max_length=16, choices=TapState.choices, default=TapState.WAITING)
    created_at = models.DateTimeField(default=timezone.now)
    connected_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    bytes_received = models.BigIntegerField(default=0)
    muted = models.BooleanField(default=False)
    refusals = models.PositiveIntegerField(default=0)
    ignored_messages = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"tap {self.pk} ({self.participant_identity} {self.track_sid})"
