"""Muting and removing a room's participants, against the sandbox over real HTTP: who may, what
LiveKit then shows, what is audited, and LiveKit's refusals in plain words."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from livekit.protocol import models

from egress_app import actions
from egress_app.models import AuditAction, AuditEntry, AuditTarget
from egress_app.sandbox.testing import RunningSandbox

pytestmark = pytest.mark.django_db

ROOM = "podcast"


def microphone(sandbox: RunningSandbox, identity: str = "guest") -> str:
    return sandbox.control.track_sid(ROOM, identity, "microphone")


def track(sandbox: RunningSandbox, sid: str) -> models.TrackInfo:
    """The track as LiveKit lists it (ListParticipants, through the sandbox's controller)."""
    for participant in sandbox.control.participants(ROOM):
        for published in participant.tracks:
            if published.sid == sid:
                return published
    raise LookupError(sid)


def identities(sandbox: RunningSandbox) -> list[str]:
    return [participant.identity for participant in sandbox.control.participants(ROOM)]


@pytest.mark.parametrize("persona", ["producer", "admin"])
def test_it_mutes_a_participants_track_and_audits_who_did(
    request, persona: str, sandbox: RunningSandbox
):
    actor = request.getfixturevalue(persona)
    sid = microphone(sandbox)

    assert actions.mute_track(actor, ROOM, "guest", sid, muted=True)

    assert track(sandbox, sid).muted
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.target_type) == (
        actor,
        AuditAction.MUTED,
        AuditTarget.PARTICIPANT,
    )
    assert entry.target_name == f"guest in {ROOM}"
    assert entry.outcome == sid


def test_it_unmutes_where_livekit_allows_remote_unmute(producer, sandbox: RunningSandbox):
    sid = microphone(sandbox)
    sandbox.control.set_track_muted(ROOM, sid, True)
    sandbox.control.set_remote_unmute(True)

    assert actions.mute_track(producer, ROOM, "guest", sid, muted=False)

    assert not track(sandbox, sid).muted
    assert AuditEntry.objects.get().action == AuditAction.UNMUTED


def test_it_says_in_plain_words_when_livekit_refuses_to_unmute(producer, sandbox):
    sid = microphone(sandbox)
    sandbox.control.set_track_muted(ROOM, sid, True)

    with pytest.raises(actions.ModerationError) as refused:
        actions.mute_track(producer, ROOM, "guest", sid, muted=False)

    assert "room.enable_remote_unmute" in refused.value.message
    assert "(Twirp failed_precondition)" in refused.value.message
    assert track(sandbox, sid).muted
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("persona", ["producer", "admin"])
def test_it_removes_a_participant_and_audits_who_did(request, persona, sandbox: RunningSandbox):
    actor = request.getfixturevalue(persona)

    actions.remove_participant(actor, ROOM, "guest")

    assert "guest" not in identities(sandbox)
    assert "host" in identities(sandbox)
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.target_name) == (
        actor,
        AuditAction.REMOVED,
        f"guest in {ROOM}",
    )


@pytest.mark.parametrize("persona", ["anonymous", "outsider", "support"])
def test_it_refuses_anyone_but_producers_and_admins(request, persona, sandbox: RunningSandbox):
    actor = AnonymousUser() if persona == "anonymous" else request.getfixturevalue(persona)
    sid = microphone(sandbox)

    with pytest.raises(PermissionDenied):
        actions.mute_track(actor, ROOM, "guest", sid, muted=True)
    with pytest.raises(PermissionDenied):
        actions.remove_participant(actor, ROOM, "guest")

    assert not track(sandbox, sid).muted
    assert "guest" in identities(sandbox)
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize(("room", "identity"), [(ROOM, "nobody"), ("no-such-room", "guest")])
def test_it_says_in_plain_words_who_is_not_there(producer, sandbox, room, identity):
    with pytest.raises(actions.ModerationError) as refused:
        actions.remove_participant(producer, room, identity)

    assert refused.value.message == (
        f"LiveKit could not remove {identity}: {identity} is not in the room “{room}” "
        "(any more). (Twirp not_found)"
    )
    assert not AuditEntry.objects.exists()


def test_it_asks_for_the_room_participant_and_track(producer, sandbox: RunningSandbox):
    with pytest.raises(ValidationError):
        actions.remove_participant(producer, ROOM, "  ")
    with pytest.raises(ValidationError):
        actions.mute_track(producer, ROOM, "guest", "", muted=True)
    assert not AuditEntry.objects.exists()


def test_it_mutes_a_track_the_participant_no_longer_publishes_as_livekit_does(
    producer, sandbox: RunningSandbox
):
    """LiveKit answers without a track, no error: nothing muted, and the audit says so."""
    assert not actions.mute_track(producer, ROOM, "guest", "TR_gone", muted=True)

    assert AuditEntry.objects.get().outcome == "TR_gone not published"
