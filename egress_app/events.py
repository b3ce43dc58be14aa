"""Messages to browsers: every payload sent over the channel layer is typed here.

Only actions announce, and only after their transaction commits (`transaction.on_commit`), so a
browser never sees a state that was rolled back. A payload carries HTML rendered once by the
publisher, which also delivers it: the dashboard's (dashboard/publisher.py), registered with
`publish_with` when the app starts, as the domain never imports the pages. Consumers only relay
it (htmx's ws extension swaps it in by id, out of band). Group names come from `group()` alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, ClassVar, Protocol

from django.db import transaction

from egress_app.models import AudioTap, EgressJob, EgressKind

# Audiences. Who may join which is decided by the consumer from the user's permissions.
ALL_JOBS = "jobs-all"  # support and admins: every job
ACTIVE_JOBS = "jobs-active"  # producers: every job that is or was running
USER_JOBS = "jobs-user"  # a producer's own jobs, keyed by user id
JOB = "job"  # one job's page, keyed by job id
HOME = "home"  # the live home page
AUDIO = "audio"  # one audio session's page, keyed by session id
PERSON = "person"  # every live socket of one signed-in person, keyed by user id


def group(audience: str, key: int | str | None = None) -> str:
    """The channel layer group of an audience (ASCII, dots as separators)."""
    return f"live.{audience}" if key is None else f"live.{audience}.{key}"


@dataclass(frozen=True)
class Private:
    """A job's page once the job no longer runs: producers see every running job but only
    their own finished ones, so of those who followed it run only reviewers and its owner may
    still see it. The others get `withheld_html` instead, and their socket lets go of the job."""

    owner_id: int | None
    withheld_html: str


@dataclass(frozen=True)
class Fragment:
    """Rendered HTML for the consumer to relay as it is (`private`: not to everyone in the
    group any more)."""

    type: ClassVar[str] = "live.fragment"
    html: str
    private: Private | None = None

    def message(self) -> dict[str, Any]:
        message: dict[str, Any] = {"type": self.type, "html": self.html}
        if self.private is not None:
            message |= {"owner": self.private.owner_id, "withheld": self.private.withheld_html}
        return message


@dataclass(frozen=True)
class JobNews:
    """A job changed: who may hear of it. Rendered, for the pages open, once it commits."""

    job_id: int
    owner_id: int | None
    was_active: bool
    is_active: bool
    created: bool = False
    # A Track Egress may be an audio session's tap, whose page shows the job's status.
    may_be_tap: bool = False

    @classmethod
    def of(cls, job: EgressJob, *, was_active: bool, created: bool = False) -> JobNews:
        may_be_tap = job.kind == EgressKind.TRACK
        return cls(job.pk, job.started_by_id, was_active, job.is_active, created, may_be_tap)

    @property
    def new_to_lists(self) -> bool:
        """Just created, or now running (every producer sees running jobs)."""
        return self.created or (self.is_active and not self.was_active)

    @property
    def moves_home(self) -> bool:
        """The home page shows what runs, with its status: it hears of every change to a job
        that runs or just ended (one reload signal per batch), not of finished jobs' edits."""
        return self.created or self.was_active or self.is_active

    def row_groups(self) -> list[str]:
        groups = [group(ALL_JOBS)]
        # A producer sees every running job, and its end is news to whoever watched it run;
        # the owner is among them (once is enough). Otherwise only the owner hears of it.
        if self.is_active or self.was_active:
            groups.append(group(ACTIVE_JOBS))
        elif self.owner_id is not None:
            groups.append(group(USER_JOBS, self.owner_id))
        return groups

    def page_group(self) -> str:
        return group(JOB, self.job_id)


@dataclass(frozen=True)
class JobChanged:
    """A job's row (for the lists) and live part (for its page), each "" when no page that
    would show it is open; `private` when the live part is no longer for every follower."""

    news: JobNews
    row_html: str = ""
    live_html: str = ""
    private: Private | None = None

    def sends(self) -> list[tuple[str, Fragment]]:
        sends = []
        if self.row_html:
            sends += [(name, Fragment(self.row_html)) for name in self.news.row_groups()]
        if self.live_html:
            sends.append((self.news.page_group(), Fragment(self.live_html, self.private)))
        return sends


@dataclass(frozen=True)
class HomeChanged:
    """Rooms, participants or what runs changed: the home page reloads its live part."""

    home_html: str

    def sends(self) -> list[tuple[str, Fragment]]:
        return [(group(HOME), Fragment(self.home_html))]


@dataclass(frozen=True)
class TapLevel:
    """A tap's meter, about 10 times a second: its last 100 ms window's RMS and peak in dBFS,
    its voice state (speaking, silent, muted) and the bytes it has received. Levels and states
    only: raw audio never goes to browsers. Nothing is stored, so it is not tied to a commit."""

    session_id: int
    tap_id: int
    rms_dbfs: float
    peak_dbfs: float
    state: str
    bytes_received: int

    def page_group(self) -> str:
        return group(AUDIO, self.session_id)


@dataclass(frozen=True)
class MixLevel:
    """The session's mix meter, about 10 times a second, from whichever process mixes the
    session: its last 100 ms tick's RMS and peak in dBFS, its voice state and how many taps it
    holds. Not stored (like `TapLevel`)."""

    session_id: int
    rms_dbfs: float
    peak_dbfs: float
    state: str
    tracks: int

    def page_group(self) -> str:
        return group(AUDIO, self.session_id)


@dataclass(frozen=True)
class AudioNews:
    """A session or its taps changed (a tap connected or closed, the session ended)."""

    session_id: int

    def page_group(self) -> str:
        return group(AUDIO, self.session_id)


@dataclass(frozen=True)
class Caption:
    """A line of a session's live captions, pushed as the engine says it (never stored here:
    finals are stored as Utterances by the transcription sink before they are pushed).

    `kind` is "partial" (grey, replaced by the next words of the same `line`), "final" (an
    utterance; `replaces` names the partial line it ends), "gap" (audio the engine never
    heard), "state" (the engine's state in plain words, in `text`) or "room" (how publishing
    the finals into the room goes, when asked)."""

    session_id: int
    kind: str
    line: str  # the line's key on the page: "partial-<channel>", "utterance-<id>", "gap-<n>"
    text: str
    speaker: str = ""
    at: datetime | None = None  # wall-clock start of the words
    replaces: str = ""
    failed: bool = False
    ended: bool = False  # a "state": the engine has ended the transcription
    transcription_id: int = 0  # a "state": whose badge it updates

    def page_group(self) -> str:
        return group(AUDIO, self.session_id)


@dataclass(frozen=True)
class SignedOut:
    """The person was signed out everywhere (deactivated): their open pages' sockets close."""

    type: ClassVar[str] = "live.signed_out"

    def message(self) -> dict[str, Any]:
        return {"type": self.type}


# --- announcing -------------------------------------------------------------------------------
class Publisher(Protocol):
    """Renders the news for the pages open and delivers it; `rooms`: the home page's rooms or
    participants changed."""

    def __call__(self, news: list[JobNews], *, rooms: bool) -> None: ...


_publisher: Publisher | None = None


def publish_with(publisher: Publisher) -> None:
    """Have `publisher` render and deliver every announcement, once its transaction commits."""
    global _publisher
    _publisher = publisher


def announce_job(job: EgressJob, *, was_active: bool, created: bool = False) -> None:
    """Publish the job's new state after the current transaction commits."""
    announce_jobs([JobNews.of(job, was_active=was_active, created=created)])


def announce_jobs(news: list[JobNews]) -> None:
    """Publish these jobs' new states after the current transaction commits: rendered then,
    not now (a row may change again before), and only for the pages someone has open."""
    if news:
        transaction.on_commit(partial(_publish, news), robust=True)


def announce_rooms() -> None:
    """Rooms or participants changed: open home pages reload their live part, after commit."""
    transaction.on_commit(partial(_publish, [], rooms=True), robust=True)


def _publish(news: list[JobNews], *, rooms: bool = False) -> None:
    # Run once the change is stored (robust: a failure here is logged, never the caller's, so
    # a webhook already applied is not answered with a 500 and sent again).
    if _publisher is not None:  # without the pages installed, no browser is listening
        _publisher(news, rooms=rooms)
    tracks = [item.job_id for item in news if item.may_be_tap]
    if tracks and _audio_publisher is not None:
        _publish_tapped_sessions(tracks)


def _publish_tapped_sessions(job_ids: list[int]) -> None:
    """A tap's egress changed (turned COMPLETE or FAILED, by webhook or reconciler): its
    session's open page shows the job's status, so it hears of it now, not at its next poll.
    (Read for Track Egress only; the audio publisher renders only for pages open.)"""
    tapped = AudioTap.objects.filter(job_id__in=job_ids).order_by()
    for session_id in tapped.values_list("session_id", flat=True).distinct():
        assert _audio_publisher is not None
        _audio_publisher(AudioNews(session_id))


SignOutPublisher = Callable[[int], None]
_sign_out_publisher: SignOutPublisher | None = None


def publish_sign_outs_with(publisher: SignOutPublisher) -> None:
    """Have `publisher` close a person's open sockets (given their user id)."""
    global _sign_out_publisher
    _sign_out_publisher = publisher


def announce_signed_out(user_id: int) -> None:
    """Close the person's open live sockets once the current transaction commits: their
    sessions are gone, and their pages must stop hearing of jobs."""
    if _sign_out_publisher is not None:
        transaction.on_commit(partial(_sign_out_publisher, user_id), robust=True)


# --- audio ----------------------------------------------------------------------------------------
LevelPublisher = Callable[[TapLevel], Awaitable[None]]
AudioPublisher = Callable[[AudioNews], None]
_level_publisher: LevelPublisher | None = None
_audio_publisher: AudioPublisher | None = None


def publish_audio_with(levels: LevelPublisher, news: AudioPublisher) -> None:
    """Have `levels` render and deliver tap levels (from the audio endpoint's event loop), and
    `news` a session's changes (once their transaction commits)."""
    global _level_publisher, _audio_publisher
    _level_publisher, _audio_publisher = levels, news


async def announce_tap_level(level: TapLevel) -> None:
    """Publish a tap's level now (the audio endpoint calls this; nothing is stored)."""
    if _level_publisher is not None:
        await _level_publisher(level)


MixPublisher = Callable[[MixLevel], Awaitable[None]]
_mix_publisher: MixPublisher | None = None


def publish_mix_with(mix: MixPublisher) -> None:
    """Have `mix` render and deliver mix levels (from the event loop of the mixing process)."""
    global _mix_publisher
    _mix_publisher = mix


async def announce_mix_level(level: MixLevel) -> None:
    """Publish a session's mix level now (its processor calls this; nothing is stored)."""
    if _mix_publisher is not None:
        await _mix_publisher(level)


def announce_audio_session(session_id: int) -> None:
    """Publish the session's taps as they are once the current transaction commits. A page
    that cannot be told is logged, never the caller's failure: the audio endpoint lets egress
    in only after the change it announces is stored."""
    if _audio_publisher is not None:
        transaction.on_commit(partial(_audio_publisher, AudioNews(session_id)), robust=True)


CaptionPublisher = Callable[[Caption], Awaitable[None]]
_caption_publisher: CaptionPublisher | None = None


def publish_captions_with(captions: CaptionPublisher) -> None:
    """Have `captions` render and deliver caption lines (on the session processor's loop)."""
    global _caption_publisher
    _caption_publisher = captions


async def announce_caption(caption: Caption) -> None:
    """Publish a caption line now (the transcription sink calls this, after storing a final)."""
    if _caption_publisher is not None:
        await _caption_publisher(caption)
