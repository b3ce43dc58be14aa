"""The end of an audio session, by a person (Stop) or with its room (the room_finished webhook,
or the reconciler finding the room gone). Apart from egress_app/actions/audio.py so that the
ledger, which records room_finished, can end sessions without importing the egress actions."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from egress_app.actions.vault import Actor, audit
from egress_app.events import announce_audio_session, announce_rooms
from egress_app.models import AudioSession, AudioSessionState, AuditAction

ROOM_GONE = "the room has ended"


def end_session(actor: Actor, session: AudioSession, outcome: str = "") -> bool:
    """Mark a running session ended, with its audit entry; False when it had already ended."""
    with transaction.atomic():
        changed = AudioSession.objects.filter(pk=session.pk, state=AudioSessionState.RUNNING)
        if not changed.update(state=AudioSessionState.ENDED, ended_at=timezone.now()):
            return False
        audit(actor, AuditAction.STOPPED, session, outcome=outcome)
        announce_audio_session(session.pk)
        announce_rooms()  # the Live page's "Listening" badge
        return True


def end_audio_sessions(room: str, outcome: str) -> int:
    """End the room's running sessions (their egress end with the room, by themselves)."""
    running = AudioSession.objects.filter(room_name=room, state=AudioSessionState.RUNNING)
    return sum(end_session(None, session, outcome) for session in running)
