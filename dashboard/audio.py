"""The audio session page's live parts: one template (dashboard/audio_session.html) rendered by
the page, by the htmx endpoint polling it and by the websocket pushes (`hx-swap-oob`).

A tap's level is never stored: the audio endpoint publishes it about 10 times a second
(dashboard.publisher.deliver_level), and about once a second it is also kept in the cache for
the polled page (a few seconds, so a tap that stopped sending shows no stale meter for long).
The mix's meter comes the same way from whichever process mixes the session
(dashboard.publisher.deliver_mix); the polled page shows it only when that process is this one
(development), and says otherwise that it is live only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.core.cache import cache
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from dashboard.fragments import polls, sees_jobs
from egress_app.audio.levels import FLOOR_DBFS
from egress_app.events import Caption, MixLevel, TapLevel
from egress_app.models import (
    AudioRecording,
    AudioSession,
    AudioTap,
    EgressStatus,
    EngineKind,
    TapState,
    TranscriptGap,
    Transcription,
    Utterance,
)
from egress_app.roles import may_control

LIVE = "dashboard/audio_session.html#live"
RECORDINGS = "dashboard/audio_session.html#recordings"
# How long after a recorded session ended its page waits for the recording's upload.
RECORDING_WAIT = timedelta(minutes=10)
PUSHED_LEVEL = "dashboard/audio_session.html#pushed-level"
MIX_LEVEL = "dashboard/audio_session.html#mix-level"
PUSHED_CAPTION = "dashboard/audio_session.html#pushed-caption"
TRANSCRIPT_STATES = "dashboard/audio_session.html#transcript-states"
CAPTIONS_SHOWN = 200  # the last utterances a page opens with
LEVEL_KEPT_FOR = 5  # seconds
ENDED = "ended"  # as the transcription sink says it


def sessions_for(user: AbstractUser | AnonymousUser) -> QuerySet[AudioSession]:
    """Whoever sees jobs sees every session (its taps are running jobs of the room): producers,
    support and admins."""
    if not sees_jobs(user):
        return AudioSession.objects.none()
    return AudioSession.objects.select_related("started_by", "record_to")


def level_key(tap_id: int) -> str:
    return f"egress:tap-level:{tap_id}"


async def keep_level(level: TapLevel) -> None:
    await cache.aset(level_key(level.tap_id), asdict(level), LEVEL_KEPT_FOR)


def mix_key(session_id: int) -> str:
    return f"egress:mix-level:{session_id}"


async def keep_mix(level: MixLevel) -> None:
    await cache.aset(mix_key(level.session_id), asdict(level), LEVEL_KEPT_FOR)


def live_context(session: AudioSession) -> dict[str, Any]:
    taps = list(session.taps.select_related("job").order_by("created_at", "pk"))
    # A track's tap started again (its egress failed) supersedes the one before: the table
    # shows each track's latest tap, the earlier ones are listed under it and in the timeline.
    latest = {tap.track_sid: tap.pk for tap in taps}  # oldest first: the last one wins
    current = [tap for tap in taps if latest[tap.track_sid] == tap.pk]
    kept = cache.get_many([level_key(tap.pk) for tap in current] + [mix_key(session.pk)])
    rows = [(tap, _level(tap, kept.get(level_key(tap.pk)))) for tap in current]
    running = session.is_running or any(tap.job and polls(tap.job) for tap in taps)
    mix = kept.get(mix_key(session.pk)) if session.is_running else None
    return {
        "session": session,
        "rows": rows,
        "earlier": [tap for tap in taps if latest[tap.track_sid] != tap.pk],
        "polls": running,
        "floor": FLOOR_DBFS,
        "mix": MixLevel(**mix) if mix else None,
        **timeline_context(session, taps),
    }


def _level(tap: AudioTap, kept: dict[str, Any] | None) -> TapLevel | None:
    if kept is None or tap.state != TapState.CONNECTED:
        return None
    return TapLevel(**kept)


def page_context(user: AbstractUser | AnonymousUser, session: AudioSession) -> dict[str, Any]:
    return (
        live_context(session)
        | {"may_stop": session.is_running and may_control(user, session)}
        | recordings_context(session)
        | captions_context(session)
    )


def captions_context(session: AudioSession) -> dict[str, Any]:
    """The session's latest transcription and its last stored utterances (the page without
    JavaScript shows these; with it, pushed captions follow)."""
    transcription = session.transcriptions.order_by("-created_at", "-pk").first()
    utterances: list[Utterance | TranscriptGap] = []
    if transcription is not None:
        latest = transcription.utterances.order_by("-start_seconds", "-pk")[:CAPTIONS_SHOWN]
        utterances = list(reversed(latest))
        gaps = transcription.gaps.order_by("-start_seconds", "-pk")
        if len(utterances) == CAPTIONS_SHOWN:  # those among the lines shown
            gaps = gaps.filter(start_seconds__gte=utterances[0].start_seconds)
        lines = [*utterances, *gaps[:CAPTIONS_SHOWN]]
        utterances = sorted(lines, key=lambda line: line.start_seconds)
    builtin = transcription is not None and transcription.engine == EngineKind.BUILTIN
    return {
        "transcription": transcription,
        "utterances": utterances,
        "builtin": builtin,
        "engine_state": engine_state(transcription) if transcription else "",
    }


def engine_state(transcription: Transcription) -> str:
    """The engine's state beside the captions: its own words while it may still write (and
    when it failed), "ended" once it or its session ended."""
    if transcription.is_over and not transcription.error:
        return ENDED
    return transcription.state or "waiting for audio"


@dataclass(frozen=True)
class StateBadge:
    """A transcript's state badge as a state caption tells it (the page reads the
    Transcription; the push has only the caption): what transcript_state.html reads."""

    pk: int
    state: str
    error: str
    is_over: bool


def caption(caption: Caption) -> str:
    """A caption line, or the engine's state (beside the captions, and the transcript's badge
    in the Transcripts section), for a push."""
    context: dict[str, Any] = {"caption": caption, "oob": True}
    if caption.kind == "state" and caption.transcription_id:
        error = caption.text if caption.failed else ""
        badge = StateBadge(caption.transcription_id, caption.text, error, caption.ended)
        context["badge"] = badge
    return render_to_string(PUSHED_CAPTION, context)


def transcript_states(session: AudioSession) -> str:
    """The engine's state and every transcript's badge as they are now, for a push (the
    snapshot a socket gets when it connects: a change since the page rendered is not lost)."""
    transcriptions = list(session.transcriptions.order_by("-created_at", "-pk"))
    if not transcriptions:
        return ""
    latest = transcriptions[0]
    context = {"transcriptions": transcriptions, "latest": latest, "oob": True}
    return render_to_string(TRANSCRIPT_STATES, context | {"engine_state": engine_state(latest)})


def recordings_context(session: AudioSession) -> dict[str, Any]:
    """The session's recordings of its mix, the profile it records to now (if any), and whether
    one is still to come (the section polls until then)."""
    recordings = list(session.recordings.order_by("created_at", "pk"))
    context = {"session": session, "recordings": recordings, "records_to": session.record_to}
    return context | {"recording_due": _recording_due(session, recordings)}


def _recording_due(session: AudioSession, recordings: list[AudioRecording]) -> bool:
    """Recorded and running, or ended lately with no recording since: the processor uploads
    at the end, seconds (minutes, for a long session) after the Stop."""
    if session.record_to_id is None:
        return False
    if session.is_running or session.ended_at is None:
        return True
    if timezone.now() - session.ended_at > RECORDING_WAIT:
        return False
    return not any(recording.created_at >= session.ended_at for recording in recordings)


def live_push(session_id: int) -> str:
    """The session's live part for a push (a snapshot when a socket connects)."""
    session = AudioSession.objects.get(pk=session_id)
    live = render_to_string(LIVE, live_context(session) | {"oob": True})
    return live + transcript_states(session)


def tap_level(level: TapLevel) -> str:
    """A tap's meter and byte count for a push."""
    context = {"level": level, "tap_id": level.tap_id, "oob": True, "floor": FLOOR_DBFS}
    return render_to_string(PUSHED_LEVEL, context)


def mix_level(level: MixLevel) -> str:
    """The session's mix meter for a push."""
    return render_to_string(MIX_LEVEL, {"mix": level, "oob": True, "floor": FLOOR_DBFS})


# --- the session's timeline -----------------------------------------------------------------------
@dataclass(frozen=True)
class Moment:
    """One line of the session's timeline; `gap`: how long the track went unheard before this
    tap connected (a tap started again after its predecessor's egress ended)."""

    at: datetime
    text: str
    tap: AudioTap | None = None
    gap: timedelta | None = None

    @property
    def gap_text(self) -> str:
        """How long the track went unheard: "12 s", "3 min 5 s"."""
        seconds = max(0, round(self.gap.total_seconds())) if self.gap else 0
        minutes, seconds = divmod(seconds, 60)
        return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


SAME_MOMENT = timedelta(seconds=1)
TIMELINE_LENGTH = 200  # the newest moments shown; a long session restarted often has more


def timeline_context(session: AudioSession, taps: Iterable[AudioTap]) -> dict[str, Any]:
    moments = timeline(session, taps)
    shown = moments[-TIMELINE_LENGTH:]
    return {"timeline": shown, "timeline_hidden": len(moments) - len(shown)}


def timeline(session: AudioSession, taps: Iterable[AudioTap]) -> list[Moment]:
    """What happened to the session's taps, oldest first: each started, connected, closed and
    its egress ended, and the gap when a track's tap was started again (egress never dials
    again after a failure, e.g. a dashboard restart: the reconciler starts a new tap)."""
    moments = [Moment(session.created_at, "Session started")]
    last_end: dict[str, datetime | None] = {}
    for tap in taps:
        moments += _tap_moments(tap, last_end.get(tap.track_sid))
        if tap.connected_at:  # a tap whose egress never connected heard nothing: no new end
            last_end[tap.track_sid] = _heard_until(tap)
    if session.ended_at:
        moments.append(Moment(session.ended_at, "Session ended"))
    return sorted(moments, key=lambda moment: moment.at)


def _tap_moments(tap: AudioTap, previous_end: datetime | None) -> list[Moment]:
    moments = [Moment(tap.created_at, "tap started", tap)]
    if tap.connected_at:
        gap = tap.connected_at - previous_end if previous_end else None
        moments.append(Moment(tap.connected_at, "egress connected", tap, gap))
    job = tap.job
    ended = job.ended_at if job and not job.is_active else None
    # A close as the egress ended is said by the egress's end (the reconciler closes a tap
    # whose connection died unrecorded as of that instant).
    if tap.closed_at and not (ended and abs(ended - tap.closed_at) <= SAME_MOMENT):
        moments.append(Moment(tap.closed_at, "connection closed", tap))
    if job and ended:
        error = f": {job.error}" if job.status == EgressStatus.FAILED and job.error else ""
        moments.append(Moment(ended, f"egress {job.status_label}{error}", tap))
    return moments


def _heard_until(tap: AudioTap) -> datetime | None:
    """When the connected tap's audio stopped: its connection closed or its egress ended,
    whichever was first; None while it may still be running."""
    ended = tap.job.ended_at if tap.job and not tap.job.is_active else None
    known = [when for when in (tap.closed_at, ended) if when]
    return min(known) if known else None
