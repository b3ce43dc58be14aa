"""Live transcription of an audio session: a sink (egress_app/audio/sinks.py) that sends each
tick's tracks to the session's speech-to-text engine (egress_app/transcribe/), one channel per
participant, and turns what the engine says into captions and utterances.

A session asks for it when it starts (`start_audio_session(transcribe_with=...)` creates its
`Transcription`); the processor that mixes the session then opens the engine with the profile's
config and secrets. Partial words are pushed to the session page only; each final result is
stored as an `Utterance` (speaker from the tap whose track it came from, times relative to the
session and wall-clock) and then pushed; the engine's state and any gap in what it heard are
pushed and its state kept on the `Transcription`. Nothing here raises into the processor: an
engine that fails leaves its own words on the transcription and the taps go on.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.utils import timezone

from egress_app.actions.engines import languages
from egress_app.actions.room_captions import RoomCaptions
from egress_app.audio.mixer import Tick
from egress_app.crypto import SecretKeyError
from egress_app.events import Caption, announce_caption
from egress_app.launch.config import row_id
from egress_app.models import (
    AudioSession,
    AudioTap,
    EngineKind,
    EngineProfile,
    TapState,
    TranscriptGap,
    Transcription,
    Utterance,
)
from egress_app.redact import redactor
from egress_app.transcribe.engines import (
    Engine,
    EngineSettings,
    EngineStream,
    Gap,
    Status,
    Words,
)
from egress_app.transcribe.registry import UnknownEngine, engine_for

logger = logging.getLogger(__name__)

DEFAULT = "default"  # the Transcribe button's choice: the default profile, else the built-in
BUILTIN_NAME = "Built-in (no engine profile)"
CLOSE_SECONDS = 5.0
DATABASE_SECONDS = 10.0  # a database call through the processor's loop, at most
BUSY = (DatabaseError, TimeoutError, RuntimeError)  # busy, locked, or the loop stopped
STORE_TRIES = 50  # ticks (5 s) a final waits for a database that refuses it
# A gap that starts this soon after the last one for the same speaker and reason extends it: an
# engine falling behind on a busy machine misses many short spans, and one line says it better.
GAP_JOIN_SECONDS = 2.0
CLOSE_TRIES = 5  # to store the last words and the end when the database is busy
ENDED = "ended"


# --- choosing at the start ------------------------------------------------------------------------
@dataclass(frozen=True)
class EngineChoice:
    """The engine a session is transcribed with: a profile, or the built-in engine without one
    (when no default profile exists, so Transcribe always works)."""

    profile: EngineProfile | None
    kind: str
    name: str


def engine_choice(transcribe_with: int | str | None) -> EngineChoice | None:
    """The engine chosen by id, DEFAULT, or None (empty) for no transcription."""
    if transcribe_with is None or str(transcribe_with).strip() == "":
        return None
    if str(transcribe_with).strip() == DEFAULT:
        default = EngineProfile.objects.filter(is_default=True).first()
        if default is None:
            return EngineChoice(None, EngineKind.BUILTIN, BUILTIN_NAME)
        return EngineChoice(default, default.kind, default.name)
    gone = ValidationError(
        "The engine profile chosen for the transcription does not exist (any more): pick "
        "another, or do not transcribe."
    )
    pk = row_id(str(transcribe_with).strip())
    profile = EngineProfile.objects.filter(pk=pk).first() if pk is not None else None
    if profile is None:
        raise gone
    return EngineChoice(profile, profile.kind, profile.name)


def begin_transcription(
    session: AudioSession, choice: EngineChoice, *, publish_to_room: bool = False
) -> Transcription:
    """The session's transcription, waiting for its processor to open the engine."""
    return Transcription.objects.create(
        session=session,
        profile=choice.profile,
        engine=choice.kind,
        profile_name=choice.name,
        state="waiting for audio",
        publish_to_room=publish_to_room,
    )


# --- the sink -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Speaker:
    tap_id: int | None
    identity: str
    name: str


@dataclass
class TranscriptionSink:
    """One processing run of a session's transcription."""

    transcription_id: int
    session_id: int
    session_started: datetime
    engine: Engine
    settings: EngineSettings
    loop: asyncio.AbstractEventLoop | None = None
    streams: dict[str, EngineStream] = field(default_factory=dict)  # channel, or group ("*") ->
    opened: dict[int, datetime] = field(default_factory=dict)  # id(stream) -> its first audio
    groups: dict[str, list[str]] = field(default_factory=dict)  # a multichannel stream's channels
    retiring: list[tuple[EngineStream, threading.Thread]] = field(default_factory=list)
    engine_name: str = ""  # as a gap names the engine
    speakers: dict[str, Speaker] = field(default_factory=dict)
    states: dict[int, Status] = field(default_factory=dict)
    gaps: int = 0
    last_gaps: dict[tuple[str, str], tuple[TranscriptGap, str]] = field(default_factory=dict)
    broken: bool = False
    unsaved: list[tuple[EngineStream, Words, int]] = field(default_factory=list)
    unsaved_gaps: list[tuple[TranscriptGap, int]] = field(default_factory=list)
    close_seconds: float = CLOSE_SECONDS  # for the engine's last words when the session ends
    hide: Callable[[str], str] = str  # the profile's secrets out of an engine's words
    room: RoomCaptions | None = None  # each final into the room too, when asked (SendData)

    def write(self, tick: Tick) -> None:
        if self.broken:
            return
        try:
            if self.engine.multichannel:
                self._admit(tick.tracks)
            for channel, samples in tick.tracks.items():
                self._stream(channel).send(channel, samples)
            self._take()
        except Exception as error:  # an engine's bug: this transcription stops, the taps go on
            logger.exception("Transcription %s failed", self.transcription_id)
            self._fail(f"failed: the engine broke down ({error})")

    def _stream(self, channel: str) -> EngineStream:
        key = self._group_of(channel) if self.engine.multichannel else channel
        stream = self.streams.get(key)
        if stream is None:
            settings = replace(self.settings, channels=[channel], names={})
            if self.engine.multichannel:
                names = {c: self.speaker(c).name for c in self.groups[key]}
                settings = replace(self.settings, channels=list(self.groups[key]), names=names)
            stream = self._open(key, settings)
        return stream

    def _open(self, key: str, settings: EngineSettings) -> EngineStream:
        stream = self.streams[key] = self.engine.open(settings)
        self.opened[id(stream)] = datetime.now(UTC)
        return stream

    def _group_of(self, channel: str) -> str:
        return next((key for key, group in self.groups.items() if channel in group), "*")

    def _admit(self, channels: Iterable[str]) -> None:
        """Channels no stream of a multichannel engine has (a participant who joined after it
        opened) join one: the engine's last group while it has room (at most `max_channels`),
        else a new one. A stream that keeps its channels (Gladia, Deepgram, Forward) is opened
        again with them at this tick: the old one gets every tick before, is closed aside (its
        last finals still come) and the new one every tick from now on, so no audio is lost."""
        if not self.groups:
            self.groups["*"] = list(self.settings.channels)
        known = {channel for group in self.groups.values() for channel in group}
        new = [channel for channel in channels if channel not in known]
        if not new:
            return
        limit = getattr(self.engine, "max_channels", 0) or len(known) + len(new)
        key = list(self.groups)[-1]
        if len(self.groups[key]) + len(new) > limit:
            key = f"*{len(self.groups)}"
            self.groups[key] = []
        self.groups[key] += new
        old = self.streams.pop(key, None)
        if old is not None and self.engine.fixed_channels:
            logger.info("Transcription %s: reopening for %s", self.transcription_id, new)
            self._retire(old)
        elif old is not None:
            self.streams[key] = old

    def _retire(self, stream: EngineStream) -> None:
        """Close `stream` in a thread of its own (closing waits for the engine's last words);
        it is polled until it has closed."""
        closing = threading.Thread(
            target=stream.close, args=(self.close_seconds,), name="stt-retire", daemon=True
        )
        closing.start()
        self.retiring.append((stream, closing))

    def _take(self) -> None:
        """What the engines said since the last tick, and any final whose storing failed."""
        waiting, self.unsaved = self.unsaved, []
        for stream, words, tries in waiting:
            self._final(stream, words, tries + 1)
        self._store_gaps_again()
        for stream in list(self.streams.values()):
            self._heard(stream)
            self._status(stream)
        for stream, closing in list(self.retiring):
            done = not closing.is_alive()
            self._heard(stream)
            if done:
                self.retiring.remove((stream, closing))
                self.opened.pop(id(stream), None)

    def _heard(self, stream: EngineStream) -> None:
        said = stream.poll()
        self._gaps(stream, [gap for gap in said if isinstance(gap, Gap)])
        for words in said:
            if isinstance(words, Words) and words.final:
                self._final(stream, words)
            elif isinstance(words, Words):
                self._partial(stream, words)

    def _status(self, stream: EngineStream) -> None:
        status = stream.status
        if self.states.get(id(stream)) == status:
            return
        words = self.hide(status.text)
        if not self._keep_state(words, error=words if status.failed else ""):
            return  # the next tick tries again
        self.states[id(stream)] = status
        if status.failed:
            logger.warning("Transcription %s: %s", self.transcription_id, words)
        self._push(self._state(words, failed=status.failed))

    def _state(self, words: str, *, failed: bool = False, ended: bool = False) -> Caption:
        """The engine's state for the session page: its captions' line and its badge."""
        return Caption(
            self.session_id,
            "state",
            "state",
            words,
            failed=failed,
            ended=ended or words == ENDED,  # the engine's stream ended: so does the transcript
            transcription_id=self.transcription_id,
        )

    def _keep_state(self, state: str, *, error: str) -> bool:
        """The engine's state on the transcription; False when the database was busy (SQLite
        locked by another writer, a blip), never raised into the processor."""
        rows = Transcription.objects.filter(pk=self.transcription_id)
        try:
            self._db(lambda: rows.update(state=state[:200], error=error))
        except BUSY as problem:
            logger.warning("Transcription %s: state not kept: %s", self.transcription_id, problem)
            return False
        return True

    def _fail(self, words: str) -> None:
        words = self.hide(words)
        self.broken = True
        self._keep_state(words, error=words)
        self._push(self._state(words, failed=True))

    def _at(self, stream: EngineStream, seconds: float) -> datetime:
        return self.opened[id(stream)] + timedelta(seconds=seconds)

    def _partial(self, stream: EngineStream, words: Words) -> None:
        speaker = self.speaker(words.channel)
        line = f"partial-{words.channel}"
        at = self._at(stream, words.start)
        self._push(Caption(self.session_id, "partial", line, words.text, speaker.name, at))

    def _final(self, stream: EngineStream, words: Words, tries: int = 0) -> None:
        partial = f"partial-{words.channel}"
        if not words.text.strip():  # nothing said after all: the partial goes
            self._push(Caption(self.session_id, "final", "", "", replaces=partial))
            return
        try:
            utterance = self._store(stream, words)
        except BUSY as problem:  # kept for the next tick, shown meanwhile as partial
            if tries >= STORE_TRIES:
                logger.error("Transcription %s: lost %r: %s", self.transcription_id, words, problem)
                return
            logger.warning("Transcription %s: not stored yet: %s", self.transcription_id, problem)
            self.unsaved.append((stream, words, tries))
            return
        self._push(
            Caption(
                self.session_id,
                "final",
                f"utterance-{utterance.pk}",
                utterance.text,
                utterance.speaker_name or utterance.speaker_identity,
                utterance.started_at,
                replaces=partial,
            )
        )
        if self.room is not None:
            self.room.publish(utterance)

    def _store(self, stream: EngineStream, words: Words) -> Utterance:
        speaker = self.speaker(words.channel)
        started, ended = self._at(stream, words.start), self._at(stream, words.end)
        row = Utterance(
            transcription_id=self.transcription_id,
            tap_id=speaker.tap_id,
            speaker_identity=speaker.identity,
            speaker_name=speaker.name,
            start_seconds=round((started - self.session_started).total_seconds(), 3),
            end_seconds=round((ended - self.session_started).total_seconds(), 3),
            started_at=started,
            ended_at=ended,
            text=words.text.strip(),
            confidence=words.confidence,
            language=words.language,
        )
        self._db(row.save)
        return row

    def _db[T](self, work: Callable[[], T]) -> T:
        """Database work on the thread where the session's processor does its own (its event
        loop's, through database_sync_to_async: one thread per process, which SQLite needs), or
        here when there is no loop (a test driving the sink). BUSY when it could not be done."""
        if self.loop is None:
            return work()
        if self.loop.is_closed():  # its server is stopping: so is this processor
            raise RuntimeError("the session processor's event loop has stopped")
        done = asyncio.run_coroutine_threadsafe(database_sync_to_async(work)(), self.loop)
        return done.result(DATABASE_SECONDS)

    def _gaps(self, stream: EngineStream, gaps: list[Gap]) -> None:
        """Each span the engine missed, once: a stream of several channels that dropped says
        so for each of them, and that is one gap for everyone."""
        spans: dict[tuple[float, float, str], list[str]] = {}
        for gap in gaps:
            spans.setdefault((gap.start, gap.end, gap.reason), []).append(gap.channel)
        for (start, end, reason), channels in spans.items():
            who = self.speaker(channels[0]) if len(channels) == 1 else Speaker(None, "", "")
            self._gap(stream, Gap(channels[0], start, end, reason), who)

    def _gap(self, stream: EngineStream, gap: Gap, speaker: Speaker) -> None:
        reason = self.hide(gap.reason)
        started, ended = self._at(stream, gap.start), self._at(stream, gap.end)
        row, line = self._gap_row(speaker, reason, started, ended)
        words = f"{row.end_seconds - row.start_seconds:.1f} s not transcribed: {reason}"
        logger.warning("Transcription %s, %s: %s", self.transcription_id, speaker.name, words)
        self._store_gap(row, 0)
        caption = Caption(self.session_id, "gap", line, words, speaker.name, row.started_at)
        self._push(caption)

    def _gap_row(
        self, speaker: Speaker, reason: str, started: datetime, ended: datetime
    ) -> tuple[TranscriptGap, str]:
        """The stored gap this span belongs to, and its caption line: the speaker's last gap
        for the same reason, extended, when it ended at most GAP_JOIN_SECONDS before."""
        key = (speaker.identity or "", reason)
        last = self.last_gaps.get(key)
        if last and (started - last[0].ended_at).total_seconds() <= GAP_JOIN_SECONDS:
            row, line = last
            row.ended_at = max(row.ended_at, ended)
            row.end_seconds = self._since_start(row.ended_at)
            return row, line
        self.gaps += 1
        row = TranscriptGap(
            transcription_id=self.transcription_id,
            speaker_identity=speaker.identity,
            speaker_name=speaker.name,
            start_seconds=self._since_start(started),
            end_seconds=self._since_start(ended),
            started_at=started,
            ended_at=ended,
            reason=reason,
            engine=self.engine_name[:100],
        )
        self.last_gaps[key] = (row, f"gap-{self.gaps}")
        return self.last_gaps[key]

    def _since_start(self, at: datetime) -> float:
        return round((at - self.session_started).total_seconds(), 3)

    def _store_gap(self, row: TranscriptGap, tries: int) -> None:
        try:
            self._db(row.save)
        except BUSY as problem:
            if tries >= STORE_TRIES:
                logger.error("Transcription %s: gap lost: %s", self.transcription_id, problem)
            else:
                self.unsaved_gaps.append((row, tries + 1))

    def _store_gaps_again(self) -> None:
        waiting, self.unsaved_gaps = self.unsaved_gaps, []
        for row, tries in waiting:
            self._store_gap(row, tries)

    def speaker(self, channel: str) -> Speaker:
        """Who speaks on a channel: the tap's participant (its name when the tap has one)."""
        known = self.speakers.get(channel)
        if known is None:
            taps = AudioTap.objects.filter(pk=int(channel)) if channel.isdigit() else None
            try:
                tap = self._db(taps.first) if taps is not None else None
            except BUSY:
                return Speaker(None, "", "")  # asked again next time
            known = speaker_of(tap) if tap is not None else Speaker(None, "", "")
            self.speakers[channel] = known
        return known

    def close(self, *, ended: bool) -> None:
        for stream in self.streams.values():
            try:
                stream.close(self.close_seconds)
            except Exception:
                logger.exception(
                    "Transcription %s: the engine failed to close", self.transcription_id
                )
        for _, closing in self.retiring:
            closing.join(self.close_seconds + 1.0)
        for attempt in range(CLOSE_TRIES):  # the last words, through a busy database too
            if self.broken or (attempt and not (self.unsaved or self.unsaved_gaps)):
                break
            time.sleep(0.2 * attempt)
            try:
                self._take()
            except Exception:
                logger.exception("Transcription %s: its last words are lost", self.transcription_id)
                break
        if self.room is not None:
            self.room.close()
        if ended:
            self._end()

    def _end(self) -> None:
        failed = self.broken or any(s.failed for s in self.states.values())
        rows = Transcription.objects.filter(pk=self.transcription_id)
        values = {} if failed else {"state": ENDED}
        for attempt in range(CLOSE_TRIES):
            time.sleep(0.2 * attempt)
            try:
                self._db(lambda: rows.update(ended_at=timezone.now(), **values))
                break
            except BUSY as problem:
                logger.warning(
                    "Transcription %s: not ended yet: %s", self.transcription_id, problem
                )
        if not failed:
            self._push(self._state(ENDED, ended=True))

    def _push(self, caption: Caption) -> None:
        """Hand the caption to the processor's event loop (never wait for it here); without
        one (a test driving the sink), deliver it at once."""
        try:
            if self.loop is not None and not self.loop.is_closed():
                future = asyncio.run_coroutine_threadsafe(announce_caption(caption), self.loop)
                future.add_done_callback(_log_failure)
            else:
                async_to_sync(announce_caption)(caption)
        except Exception:
            logger.exception("Could not push a caption of audio session %s", self.session_id)


def _log_failure(future: Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.warning("Could not push a caption: %s", future.exception())


def transcription_sink(session: AudioSession) -> TranscriptionSink | None:
    """The session's transcription, when one was asked for and not ended (session_sinks)."""
    transcription = session.transcriptions.filter(ended_at__isnull=True).first()
    if transcription is None:
        return None
    try:
        engine, settings = _engine(session, transcription)
    except (UnknownEngine, SecretKeyError, ValueError, ImportError) as error:
        words = f"failed: {error}"
        transcription.state, transcription.error = words[:200], words
        transcription.save(update_fields=["state", "error"])
        logger.warning("Audio session %s is not transcribed: %s", session.pk, error)
        return None
    sink = TranscriptionSink(
        transcription.pk, session.pk, session.created_at, engine, settings, _calling_loop()
    )
    sink.hide = redactor(settings.secrets.values())
    sink.engine_name = transcription.get_engine_display()
    sink.speakers = {str(tap.pk): speaker_of(tap) for tap in session.taps.all()}
    if transcription.publish_to_room:
        sink.room = RoomCaptions(transcription.pk, session.pk, session.room_name, sink.loop)
    return sink


def speaker_of(tap: AudioTap) -> Speaker:
    return Speaker(
        tap.pk, tap.participant_identity, tap.participant_name or tap.participant_identity
    )


def _engine(session: AudioSession, transcription: Transcription) -> tuple[Engine, EngineSettings]:
    profile = transcription.profile
    if profile is None and transcription.engine != EngineKind.BUILTIN:
        raise ValueError("the engine profile chosen for this transcription was deleted")
    config = dict(profile.config) if profile else {}
    secrets = profile.secrets() if profile else {}
    # The taps that may send audio (not those that failed to start or closed): one channel each.
    gone = [TapState.FAILED, TapState.CLOSED]
    taps = list(session.taps.exclude(state__in=gone).order_by("created_at", "pk"))
    names = {str(t.pk): t.participant_name or t.participant_identity for t in taps}
    settings = EngineSettings(config, secrets, list(names), languages(config), names)
    return engine_for(transcription.engine), settings


def _calling_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop that asked for the session's sinks (its processor's), when one did: the
    sink's captions are published there, as the processor's mix levels are."""

    async def running() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    try:
        loop = async_to_sync(running)()
    except RuntimeError:
        return None
    return None if loop.is_closed() else loop
