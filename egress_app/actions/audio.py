"""Audio sessions: one Track Egress per microphone of a room, sent to the dashboard's audio
endpoint (egress_app/taps.py), and what that endpoint records of each tap.

Each tap's egress is an ordinary job (`start_egress`), dialling
`AUDIO_INGEST_URL/egress/audio/<tap>/?t=<token>`; the token is kept only as its SHA-256. A
session ends its taps with StopEgress, never by closing their sockets: egress reports any close
of ours as FAILED and never dials again.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from livekit.protocol import models as lk

from egress_app import limits
from egress_app.actions import alert_events
from egress_app.actions.calls import JobError, LaunchError, _call
from egress_app.actions.egress import _stop, start_egress
from egress_app.actions.sessions import ROOM_GONE, end_audio_sessions, end_session
from egress_app.actions.transcription import begin_transcription, engine_choice
from egress_app.actions.vault import Actor, actor_id, audit
from egress_app.events import announce_audio_session, announce_rooms
from egress_app.launch.config import row_id
from egress_app.livekit import LiveKitError, get_livekit_client
from egress_app.models import (
    AudioSession,
    AudioSessionState,
    AudioTap,
    AuditAction,
    EgressJob,
    LaunchState,
    StorageProfile,
    TapSource,
    TapState,
)
from egress_app.roles import may_control, may_listen

logger = logging.getLogger(__name__)

# A tap's token is good until its egress connects, or this long after the start: LiveKit may
# take over 20 s to place an egress (LIVEKIT_START_TIMEOUT waits 75 s for its answer).
TOKEN_LIFETIME = timedelta(minutes=3)
PATH = "/egress/audio/{tap}/"
NOT_ALLOWED = "Only producers and admins may listen to a room."
NOT_YOURS = "Only the person who started this audio session, or an admin, may stop it."


# --- start and stop -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Microphone:
    identity: str
    track: lk.TrackInfo
    name: str = ""  # the participant's display name

    @property
    def source(self) -> TapSource:
        if self.track.source == lk.TrackSource.SCREEN_SHARE_AUDIO:
            return TapSource.SCREEN_SHARE_AUDIO
        return TapSource.MICROPHONE


def start_audio_session(
    actor: Actor,
    room: str,
    *,
    screen_share_audio: bool = False,
    record_to: int | str | None = None,
    transcribe_with: int | str | None = None,
    publish_captions: bool = False,
) -> AudioSession:
    """List the room's microphones (and screen-share audio tracks when asked) and start one tap
    per track. ValidationError in plain words when there is nothing to listen to, a session
    already listens, the taps would pass `EGRESS_CONCURRENCY_LIMIT`, or `record_to` (a storage
    profile's id, to record the mix to; empty: no recording) or `transcribe_with` (an engine
    profile's id, or "default": the default profile, else the built-in engine; empty: no
    transcription) names no profile, or `publish_captions` (each final caption into the room with
    SendData) comes without a transcription; a tap LiveKit refuses is kept as failed, with its
    job."""
    if not isinstance(actor, AbstractUser | AnonymousUser) or not may_listen(actor):
        raise PermissionDenied(NOT_ALLOWED)
    room = room.strip()
    if not room:
        raise ValidationError("Give the name of the room to listen to.")
    profile = recording_profile(record_to)
    engine = engine_choice(transcribe_with)
    if publish_captions and engine is None:
        raise ValidationError(
            "Publishing captions into the room needs a transcription: pick an engine to "
            "transcribe with."
        )
    already = ValidationError(f"An audio session already listens to {room}.")
    if AudioSession.objects.filter(room_name=room, state=AudioSessionState.RUNNING).exists():
        raise already
    microphones = room_microphones(room, screen_share_audio=screen_share_audio)
    if not microphones:
        raise ValidationError(f"Nobody in {room} publishes a microphone.")
    _check_capacity(len(microphones))
    try:
        with transaction.atomic():
            session = AudioSession.objects.create(
                room_name=room,
                started_by_id=actor_id(actor),
                screen_share_audio=screen_share_audio,
                record_to=profile,
            )
            outcome = _taps(len(microphones))
            if profile is not None:
                outcome += f"; recording the mix to {profile.name}"
            if engine is not None:
                begin_transcription(session, engine, publish_to_room=publish_captions)
                outcome += f"; transcribing with {engine.name}"
                if publish_captions:
                    outcome += ", captions published into the room"
            audit(actor, AuditAction.STARTED, session, outcome=outcome)
            announce_rooms()  # the Live page's "Listening" badge
    except IntegrityError:  # another start for the room won: one_running_audio_session_per_room
        raise already from None
    for microphone in microphones:
        start_tap(actor, session, microphone)
    return session


def recording_profile(record_to: int | str | None) -> StorageProfile | None:
    """The storage profile chosen to record a session's mix to, by id; None for no recording."""
    if record_to is None or str(record_to).strip() == "":
        return None
    gone = ValidationError(
        "The storage profile chosen for the recording does not exist (any more): pick another, "
        "or do not record."
    )
    pk = row_id(str(record_to).strip())
    profile = StorageProfile.objects.filter(pk=pk).first() if pk is not None else None
    if profile is None:
        raise gone
    return profile


def room_microphones(room: str, *, screen_share_audio: bool = False) -> list[Microphone]:
    """The room's published microphone tracks (and screen-share audio tracks when asked), as
    LiveKit lists them now."""
    try:
        participants = _call(get_livekit_client().list_participants, room)
    except LiveKitError as error:
        message = f"LiveKit could not list {room}'s participants: {error.message}"
        raise ValidationError(message) from error
    sources = {lk.TrackSource.MICROPHONE}
    if screen_share_audio:
        sources.add(lk.TrackSource.SCREEN_SHARE_AUDIO)
    return [
        Microphone(participant.identity, track, participant.name)
        for participant in participants
        for track in participant.tracks
        if track.type == lk.TrackType.AUDIO and track.source in sources
    ]


def _check_capacity(wanted: int) -> None:
    room = limits.capacity()
    if not room.fits(wanted):
        message = (
            f"Listening needs {_taps(wanted)}, and {room.busy} of the {room.limit} egress your "
            f"LiveKit plan runs at once are busy (EGRESS_CONCURRENCY_LIMIT). Stop some first."
        )
        alert_events.concurrency_refused(message)
        raise ValidationError(message)


def _taps(count: int) -> str:
    return f"{count} tap" + ("" if count == 1 else "s")


def start_tap(actor: Actor, session: AudioSession, microphone: Microphone) -> AudioTap:
    """A tap row, then its Track Egress dialling the tap's address with a fresh token."""
    token = secrets.token_urlsafe(32)
    tap = AudioTap.objects.create(
        session=session,
        participant_identity=microphone.identity,
        participant_name=microphone.name,
        track_sid=microphone.track.sid,
        track_name=microphone.track.name,
        track_source=microphone.source,
        token_hash=token_hash(token),
        token_expires_at=timezone.now() + TOKEN_LIFETIME,
    )
    track = {
        "track_id": microphone.track.sid,
        "websocket_url": tap_url(tap, token),
        "track_kind": "audio",
        "publisher_identity": microphone.identity,
        "track_source": microphone.source,
        "mime_type": microphone.track.mime_type,
    }
    config = {
        "api": settings.LIVEKIT_EGRESS_API,
        "kind": "track",
        "room_name": session.room_name,
        "track": track,
    }
    try:
        # The session checked the limit for all its taps at once (`_check_capacity`).
        job = start_egress(actor, config, launch_token=uuid.uuid4(), limited=False)
    except LaunchError as error:
        tap.job, tap.state = error.job, TapState.FAILED
        tap.save(update_fields=["job", "state"])
        return tap
    tap.job = job
    tap.save(update_fields=["job"])
    return tap


def tap_url(tap: AudioTap, token: str) -> str:
    return f"{settings.AUDIO_INGEST_URL}{PATH.format(tap=tap.pk)}?t={token}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def stop_audio_session(actor: Actor, session: AudioSession) -> AudioSession:
    """StopEgress for every running tap (their sockets close from egress's side, cleanly), then
    the session ends. A tap LiveKit refuses to stop keeps its error on its job."""
    session = AudioSession.objects.get(pk=session.pk)
    user_ok = isinstance(actor, AbstractUser | AnonymousUser) and may_control(actor, session)
    if actor is not None and not user_ok:
        raise PermissionDenied(NOT_YOURS)
    end_session(actor, session)  # first: the reconciler starts no tap for an ended session
    for tap in session.taps.select_related("job").filter(job__isnull=False):
        stop_tap(actor, tap)
    return AudioSession.objects.get(pk=session.pk)


def stop_tap(actor: Actor, tap: AudioTap) -> None:
    assert tap.job is not None
    if not tap.job.can_stop:
        return
    try:
        _stop(actor, tap.job)
    except JobError as error:
        logger.warning("Could not stop tap %s's egress: %s", tap.pk, error.message)


# --- following the room -------------------------------------------------------------------------
# A session's claim lasts this long: a worker that dies holding it frees it by then.
CLAIM = timedelta(minutes=1)


def follow_audio_sessions() -> int:
    """Bring every running session in line with its room (the reconciler runs this): a tap for
    each microphone without a running one (published since, or whose egress failed, as when the
    dashboard restarted: egress never dials again), and the end of a session whose room is
    gone. The number of taps started. Several workers may run it: each session is claimed."""
    started = 0
    for session in _claim_sessions():
        try:
            started += follow_audio_session(session)
        finally:
            AudioSession.objects.filter(pk=session.pk).update(claimed_until=None)
    return started


def _claim_sessions() -> list[AudioSession]:
    now = timezone.now()
    running = AudioSession.objects.filter(state=AudioSessionState.RUNNING)
    free = running.filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
    claimed = []
    for session in free:
        if free.filter(pk=session.pk).update(claimed_until=now + CLAIM) == 1:
            claimed.append(session)
    return claimed


def follow_audio_session(session: AudioSession) -> int:
    close_ended_taps(session)
    try:
        rooms = _call(get_livekit_client().list_rooms, [session.room_name])
        if not rooms:
            end_audio_sessions(session.room_name, ROOM_GONE)
            return 0
        screen = session.screen_share_audio
        microphones = room_microphones(session.room_name, screen_share_audio=screen)
    except (LiveKitError, ValidationError) as error:
        logger.warning("Could not follow %s: %s", session, error)
        return 0
    running = set(_running_taps(session).values_list("track_sid", flat=True))
    new = [microphone for microphone in microphones if microphone.track.sid not in running]
    try:
        _check_capacity(len(new))
    except ValidationError as refused:
        logger.warning("Not following %s: %s", session, refused.messages[0])
        return 0
    started = 0
    for microphone in new:
        if not AudioSession.objects.filter(pk=session.pk, state=AudioSessionState.RUNNING).exists():
            break  # stopped meanwhile
        start_tap(None, session, microphone)
        started += 1
    return started


def close_ended_taps(session: AudioSession) -> int:
    """Settle the taps whose egress has ended: one still marked connected lost its connection
    with a dashboard process that could not record it (a restart; egress failed to write), and
    is closed as of the egress's end; one still waiting never connected (egress could not dial)
    and was not started. The number settled; the session's page hears of them."""
    ended = Q(job__ended_at__isnull=False) & ~Q(job__status__in=EgressJob.ACTIVE_STATUSES)
    closed = session.taps.filter(ended, state=TapState.WAITING).update(state=TapState.FAILED)
    for tap in session.taps.filter(ended, state=TapState.CONNECTED).select_related("job"):
        assert tap.job is not None
        still = AudioTap.objects.filter(pk=tap.pk, state=TapState.CONNECTED)
        closed += still.update(state=TapState.CLOSED, closed_at=tap.job.ended_at)
    if closed:
        announce_audio_session(session.pk)
    return closed


def _running_taps(session: AudioSession) -> QuerySet[AudioTap]:
    active = Q(job__status__in=EgressJob.ACTIVE_STATUSES, job__launch_state=LaunchState.LAUNCHED)
    return session.taps.filter(active | Q(job__launch_state=LaunchState.LAUNCHING))


# --- what the audio endpoint records ------------------------------------------------------------
def open_tap(tap_id: int, token: str, content_type: str) -> str | None:
    """Let egress's connection for tap `tap_id` in: None when it may, else the refusal (also
    recorded). The token is good once, until it expires; the comparison takes constant time."""
    tap = AudioTap.objects.filter(pk=tap_id).first()
    if tap is None:
        return refuse_tap(tap_id, "no such tap")
    if not hmac.compare_digest(tap.token_hash, token_hash(token)):
        return refuse_tap(tap_id, "wrong token")
    if content_type != "audio/x-raw":
        return refuse_tap(tap_id, f"content type {content_type[:60]!r}, not audio/x-raw")
    now = timezone.now()
    if tap.connected_at is not None:
        return refuse_tap(tap_id, "token already used")
    if tap.token_expires_at <= now:
        return refuse_tap(tap_id, "token expired")
    opened = AudioTap.objects.filter(pk=tap_id, connected_at__isnull=True).update(
        connected_at=now, state=TapState.CONNECTED
    )
    if not opened:  # another connection won the race
        return refuse_tap(tap_id, "token already used")
    announce_audio_session(tap.session_id)
    return None


def tap_session_id(tap_id: int) -> int:
    """The session a tap belongs to (the audio endpoint publishes its levels there); 0 for no
    such tap (`open_tap` refuses it)."""
    session_id = AudioTap.objects.filter(pk=tap_id).values_list("session_id", flat=True).first()
    return session_id or 0


def refuse_tap(tap_id: int, reason: str) -> str:
    """Count a refused connection on the tap (when there is one) and log it, never the token."""
    logger.warning("Refused an audio connection for tap %s: %s", tap_id, reason)
    AudioTap.objects.filter(pk=tap_id).update(refusals=F("refusals") + 1)
    return reason


def record_tap_audio(
    tap_id: int, *, received: int, muted: bool, ignored: int = 0, closed: bool = False
) -> None:
    """What arrived since the last call: `received` bytes, `ignored` messages, the mute state;
    `closed` when the connection has ended."""
    changes: dict[str, object] = {
        "bytes_received": F("bytes_received") + received,
        "ignored_messages": F("ignored_messages") + ignored,
        "muted": muted,
    }
    if closed:
        changes |= {"state": TapState.CLOSED, "closed_at": timezone.now()}
    AudioTap.objects.filter(pk=tap_id).update(**changes)
    if closed:
        announce_audio_session(tap_session_id(tap_id))
