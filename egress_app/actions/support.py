"""Support's work on jobs that need a person: notes, and where the failure stands (open,
acknowledged, resolved). The cause itself is the job's (`EgressJob.cause`, from
egress_app.failures)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from egress_app.actions.vault import Actor, actor_id, audit
from egress_app.models import AuditAction, EgressJob, JobNote, Triage

NOTE_LENGTH = JobNote.TEXT_LENGTH
OPEN = "open"  # the triage state a job is reopened with (stored blank)


def add_note(actor: Actor, job: EgressJob, text: str) -> JobNote:
    text = text.strip()
    if not text:
        raise ValidationError({"text": "Write something first."})
    if len(text) > NOTE_LENGTH:
        raise ValidationError({"text": f"A note holds at most {NOTE_LENGTH} characters."})
    with transaction.atomic():
        note = JobNote.objects.create(job=job, author_id=actor_id(actor), text=text)
        audit(actor, AuditAction.NOTED, job)  # the note's text stays on the job's page only
    return note


def set_triage(actor: Actor, job: EgressJob, state: str) -> EgressJob:
    """Acknowledge, resolve or reopen (`OPEN`) the job's failure."""
    if state not in (*Triage.values, OPEN):
        raise ValidationError(f"Unknown state {state!r}.")
    with transaction.atomic():
        job = EgressJob.objects.select_for_update().get(pk=job.pk)
        if not job.cause:
            raise ValidationError("This job needs no one: there is nothing to acknowledge.")
        opened = state == OPEN
        job.triage = "" if opened else state
        job.triaged_by_id = None if opened else actor_id(actor)
        job.triaged_at = None if opened else timezone.now()
        job.save(update_fields=["triage", "triaged_by", "triaged_at"])
        audit(actor, AuditAction.TRIAGED, job, outcome="reopened" if opened else state)
    return job
