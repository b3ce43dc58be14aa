from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings
from django.db import models
from django.utils import timezone
from google.protobuf.message import Message
from livekit.protocol import egress

from egress_app.crypto import decrypt_json, encrypt_json, hint
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
        running = models.Q(jobs__status__in=EgressJob.ACTIVE_STATUSES)
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


class EgressJob(models.Model):
    """One egress started from the dashboard; `config` never holds secret values."""

    ACTIVE_STATUSES = (EgressStatus.STARTING, EgressStatus.ACTIVE, EgressStatus.ENDING)

    egress_id = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=32, choices=EgressKind.choices)
    room_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        max_length=32, choices=EgressStatus.choices, default=EgressStatus.STARTING
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
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    error_code = models.IntegerField(null=True, blank=True)
    details = models.TextField(blank=True)
    results = models.JSONField(default=dict, blank=True)
    info = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        required_db_features = NEEDS_JSON
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status"]),
            models.Index(fields=["kind"]),
            models.Index(fields=["room_name"]),
            models.Index(fields=["started_by", "created_at"]),
            models.Index(fields=["created_at"]),
        ]

    def __str__(self) -> str:
        return self.egress_id

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES


# --- audit log ----------------------------------------------------------------------------------
class AuditAction(models.TextChoices):
    CREATED = "created", "Created"
    CHANGED = "changed", "Changed"
    DUPLICATED = "duplicated", "Duplicated"
    TESTED = "tested", "Tested"
    ROTATED = "rotated", "Rotated keys"
    DELETED = "deleted", "Deleted"
    MADE_DEFAULT = "made_default", "Made default"


class AuditTarget(models.TextChoices):
    STORAGE_PROFILE = "storage_profile", "Storage profile"
    STREAM_DESTINATION = "stream_destination", "Stream destination"
    SECRETS = "secrets", "Stored secrets"


class AuditEntry(models.Model):
    """Who did what to which profile or destination; names of changed fields, never secrets."""

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
