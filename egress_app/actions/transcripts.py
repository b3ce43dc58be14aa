"""Transcripts' named state changes: an admin deletes one (audited), the worker purges those
older than `TRANSCRIPT_RETENTION_DAYS`."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from egress_app.actions.vault import Actor, audit
from egress_app.models import AuditAction, Transcription, being_written
from egress_app.roles import may_delete_transcript

logger = logging.getLogger("egress_app.transcripts")
PURGE_BATCH = 500
STILL_WRITTEN = (
    "This transcript is still being written: stop its transcription (or the session) first."
)


@transaction.atomic
def delete_transcript(actor: Actor, transcription: Transcription) -> None:
    """Delete the transcript and its utterances; the session and its recordings stay.

    ValidationError while its engine may still write to it (not ended, session running)."""
    if not isinstance(actor, AbstractUser | AnonymousUser) or not may_delete_transcript(actor):
        raise PermissionDenied("Only admins delete transcripts.")
    current = Transcription.objects.select_for_update().filter(pk=transcription.pk).first()
    if current is None:  # deleted meanwhile
        return
    if Transcription.objects.filter(being_written(), pk=current.pk).exists():
        raise ValidationError(STILL_WRITTEN)
    audit(actor, AuditAction.DELETED, current)
    current.delete()


def purge_transcripts(now: datetime | None = None) -> int:
    """Delete the transcripts started more than `TRANSCRIPT_RETENTION_DAYS` ago, a batch per
    transaction (utterances go with them), except one still being written (its session runs
    on); how many went. None when the setting is empty."""
    days = settings.TRANSCRIPT_RETENTION_DAYS
    if days is None or days <= 0:  # empty (or nonsense): keep every transcript
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    purged = 0
    expired = Transcription.objects.filter(created_at__lt=cutoff).exclude(being_written())
    while batch := list(expired.values_list("pk", flat=True)[:PURGE_BATCH]):
        with transaction.atomic():
            purged += (
                Transcription.objects.filter(pk__in=batch)
                .delete()[1]
                .get(Transcription._meta.label, 0)
            )
    if purged:
        logger.info("Deleted %d transcripts older than %g days", purged, days)
    return purged
