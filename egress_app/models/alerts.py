"""Alerts: where they go (channels), when they are raised (notification rules), what was
raised (alerts) and each try to deliver one to one channel (deliveries)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from egress_app.models.base import NEEDS_JSON, SecretsMixin


class AlertEvent(models.TextChoices):
    """What a notification rule listens for."""

    JOB_FAILED = "job_failed", "A job failed"
    STREAM_FAILED = "stream_failed", "A stream destination failed while its job runs"
    JOB_STUCK = "job_stuck", "A job is stuck, silent or unknown to LiveKit"
    CONCURRENCY_LIMIT = "concurrency_limit", "A start was refused at the concurrency limit"
    STORAGE_TEST_FAILED = "storage_test_failed", "A storage profile's Test failed"
    SCHEDULE_MISSED = "schedule_missed", "A schedule was missed"
    TEST = "test", "Send test"


RULE_EVENTS = [choice for choice in AlertEvent.choices if choice[0] != AlertEvent.TEST]


class ChannelKind(models.TextChoices):
    EMAIL = "email", "Email"
    APPRISE = "apprise", "Slack, Teams, Discord and more (Apprise URL)"
    WEBHOOK = "webhook", "Webhook (JSON signed with HMAC-SHA256)"


class AlertChannel(SecretsMixin):
    """Where alerts go. Email keeps its recipients in plain sight; an Apprise URL (`url`) and a
    webhook's URL and signing secret (`url`, `signing_secret`) are secrets."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    recipients = models.TextField(blank=True, help_text="Email addresses, comma-separated.")
    enabled = models.BooleanField(default=True)
    max_per_hour = models.PositiveIntegerField(default=30)
    last_tested_at = models.DateTimeField(null=True, blank=True)
    last_test_ok = models.BooleanField(null=True, blank=True)
    last_test_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class NotificationRule(models.Model):
    """On which events (and causes), for which rooms and kinds, to alert which channels. Empty
    `causes`, `kinds` or `room_pattern` mean any."""

    name = models.CharField(max_length=100, unique=True)
    events = models.JSONField(default=list)
    causes = models.JSONField(default=list, blank=True)
    room_pattern = models.CharField(max_length=200, blank=True)
    kinds = models.JSONField(default=list, blank=True)
    channels = models.ManyToManyField(AlertChannel, related_name="rules")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        required_db_features = NEEDS_JSON
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def event_labels(self) -> list[str]:
        return [str(AlertEvent(event).label) for event in self.events if event in AlertEvent]


class Alert(models.Model):
    """Something worth telling, raised once per `dedupe_key` (one per job and cause)."""

    event = models.CharField(max_length=32, choices=AlertEvent.choices)
    dedupe_key = models.CharField(max_length=200, unique=True)
    job = models.ForeignKey(
        "egress_app.EgressJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    room_name = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=300)
    text = models.TextField(blank=True)
    link = models.URLField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Waiting"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (gave up)"
    RATE_LIMITED = "rate_limited", "Not sent: rate limit"


class AlertDelivery(models.Model):
    """One alert to one channel: claimed by the worker, retried with backoff, its outcome kept."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(AlertChannel, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(
        max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "alert deliveries"
        constraints = [
            models.UniqueConstraint(fields=["alert", "channel"], name="one_delivery_per_channel")
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.alert} to {self.channel}"
