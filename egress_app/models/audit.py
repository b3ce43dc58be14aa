"""Who did what to which profile, destination, job, recipe or person."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from egress_app.models.base import NEEDS_JSON


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
    # What people do to a room's participants from the Live page.
    MUTED = "muted", "Muted a track"
    UNMUTED = "unmuted", "Unmuted a track"
    REMOVED = "removed", "Removed from the room"
    REVOKED = "revoked", "Revoked"
    # What admins do to people on the People page, and what the people do with their links.
    INVITED = "invited", "Invited"
    ROLE_CHANGED = "role_changed", "Role changed"
    DEACTIVATED = "deactivated", "Deactivated"
    REACTIVATED = "reactivated", "Reactivated"
    RESET_LINK = "reset_link", "Password reset link made"
    PASSWORD_SET = "password_set", "Password set by link"
    # What people do to schedules.
    PAUSED = "paused", "Paused"
    RESUMED = "resumed", "Resumed"


class AuditTarget(models.TextChoices):
    STORAGE_PROFILE = "storage_profile", "Storage profile"
    STREAM_DESTINATION = "stream_destination", "Stream destination"
    SECRETS = "secrets", "Stored secrets"
    JOB = "job", "Job"
    RECIPE = "recipe", "Recipe"
    AUDIO_SESSION = "audio_session", "Audio session"
    TRANSCRIPT = "transcript", "Transcript"
    ENGINE_PROFILE = "engine_profile", "Engine profile"
    PARTICIPANT = "participant", "Room participant"
    API_TOKEN = "api_token", "API token"
    USER = "user", "Person"
    ROOM_RULE = "room_rule", "Room rule"
    ROOM = "room", "Room"
    ALERT_CHANNEL = "alert_channel", "Alert channel"
    ALERT_RULE = "alert_rule", "Notification rule"
    SCHEDULE = "schedule", "Schedule"


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
    # How the actor acted when not from a page: "API token <name>" (the API's calls).
    via = models.CharField(max_length=120, blank=True)

    class Meta:
        required_db_features = NEEDS_JSON
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.actor_name or 'system'} {self.action} {self.target_name}"
