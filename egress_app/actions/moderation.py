"""Moderation from the Live page: mute or unmute a participant's track, remove a participant.

Producers and admins run shows and may moderate (`roles.may_moderate`); support and anyone
else are refused with PermissionDenied before LiveKit is asked. LiveKit keeps rooms and
participants, so nothing is stored but the audit entry, written once LiveKit has done it; a
refusal is raised as ModerationError, in plain words with its Twirp code, and changes nothing.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from egress_app.actions.calls import _call
from egress_app.actions.vault import Actor, RoomParticipant, audit
from egress_app.events import announce_rooms
from egress_app.livekit import LiveKitError, get_livekit_client
from egress_app.models import AuditAction
from egress_app.roles import may_moderate

NOT_ALLOWED = "Only producers and admins may moderate a room's participants."


class ModerationError(Exception):
    """LiveKit refused a moderation call: `message` says it for a person."""

    def __init__(self, message: str, error: LiveKitError) -> None:
        super().__init__(message)
        self.message = message
        self.error = error


def mute_track(actor: Actor, room: str, identity: str, track_sid: str, *, muted: bool) -> bool:
    """Mute (or unmute) the participant's published track; whether LiveKit found the track
    (a track they no longer publish is no error to LiveKit, nor here)."""
    who = _participant(actor, room, identity)
    track_sid = track_sid.strip()
    if not track_sid:
        raise ValidationError("Say which track to mute.")
    client = get_livekit_client()
    verb = "mute" if muted else "unmute"
    try:
        track = _call(client.mute_published_track, who.room, who.identity, track_sid, muted=muted)
    except LiveKitError as error:
        raise _refused(error, f"{verb} {who.identity}'s track", who) from error
    action = AuditAction.MUTED if muted else AuditAction.UNMUTED
    with transaction.atomic():
        audit(actor, action, who, outcome=track_sid if track else f"{track_sid} not published")
        announce_rooms()
    return track is not None


def remove_participant(actor: Actor, room: str, identity: str) -> None:
    """Disconnect the participant from the room (LiveKit lets them join again with a token)."""
    who = _participant(actor, room, identity)
    try:
        _call(get_livekit_client().remove_participant, who.room, who.identity)
    except LiveKitError as error:
        raise _refused(error, f"remove {who.identity}", who) from error
    with transaction.atomic():
        audit(actor, AuditAction.REMOVED, who)
        announce_rooms()


def _participant(actor: Actor, room: str, identity: str) -> RoomParticipant:
    """Who is moderated, once the actor may moderate and both names are given."""
    if not isinstance(actor, AbstractUser | AnonymousUser) or not may_moderate(actor):
        raise PermissionDenied(NOT_ALLOWED)
    room, identity = room.strip(), identity.strip()
    if not room or not identity:
        raise ValidationError("Say which room and which participant.")
    return RoomParticipant(room, identity)


def _refused(error: LiveKitError, doing: str, who: RoomParticipant) -> ModerationError:
    """LiveKit's refusal in plain words, its Twirp code last (for whoever reads the logs)."""
    if error.code == "not_found":
        plain = f"{who.identity} is not in the room “{who.room}” (any more)."
    elif error.code == "failed_precondition" and "remote unmute" in error.message:
        plain = (
            "This LiveKit does not let anyone unmute a participant's track but the participant "
            "(its room.enable_remote_unmute setting is off)."
        )
    else:
        plain = error.plain
    return ModerationError(f"LiveKit could not {doing}: {plain} (Twirp {error.code})", error)
