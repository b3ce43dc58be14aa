"""The event ledger: every webhook, observation and answer from LiveKit, as recorded."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, models, router, transaction
from django.utils import timezone

from egress_app.models.base import NEEDS_JSON, insert_rows, values_to_save
from egress_app.models.jobs import EgressJob
from egress_app.models.statuses import EgressStatus, status_label


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

    @classmethod
    def insert_all(cls, entries: Sequence[LedgerEntry]) -> None:
        """Insert new entries all or none, as `bulk_create` does (no signals, no primary key
        set on them), without its compiler: preparing each value through it cost a webhook
        batch more CPU than the database's work."""
        if not entries:
            return
        connection = connections[router.db_for_write(cls)]
        fields = [field for field in cls._meta.concrete_fields if not field.primary_key]
        rows = [values_to_save(entry, fields, connection, add=True) for entry in entries]
        columns = [str(field.column) for field in fields]
        with transaction.atomic(using=connection.alias, savepoint=False):
            insert_rows(connection, cls._meta.db_table, columns, rows)

    @property
    def status_label(self) -> str:
        return status_label(self.status) if self.status else ""
