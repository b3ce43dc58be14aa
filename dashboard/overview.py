"""The live overview: what the connected LiveKit has open right now, ready for templates.

Read from LiveKit (nothing stored in the database): rooms, their participants and tracks, and
the active egress, shared for a moment by everyone watching (`livekit_cache`). Protobuf enums
become words here so templates stay plain.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper
from livekit.protocol import egress, models

from dashboard import livekit_cache
from egress_app.livekit import LiveKitClient, LiveKitError, times

EGRESS_KIND = models.ParticipantInfo.Kind.EGRESS

# The request oneof of EgressInfo says which kind of egress it is.
_REQUEST_KINDS = {
    "room_composite": "Room composite",
    "web": "Web page",
    "participant": "Participant",
    "track_composite": "Track composite",
    "track": "Track",
    "replay": "Replay export",
}
# The unified StartEgress request: its source says the kind.
_SOURCE_KINDS = {"template": "Room composite", "web": "Web page", "media": "Media"}


@dataclass(frozen=True)
class TrackRow:
    sid: str
    type: str
    source: str
    muted: bool
    mime_type: str
    resolution: str


@dataclass(frozen=True)
class ParticipantRow:
    identity: str
    name: str
    kind: str
    state: str
    joined_at: datetime | None
    tracks: list[TrackRow]


@dataclass(frozen=True)
class RoomRow:
    name: str
    sid: str
    created_at: datetime | None
    active_recording: bool
    participants: list[ParticipantRow]

    @property
    def microphones(self) -> int:
        """Audio tracks from microphones: the taps (Track Egress) a Listen starts."""
        return self._audio_from("microphone")

    @property
    def screen_share_audio(self) -> int:
        """Screen-share audio tracks: the taps Listen adds when asked to."""
        return self._audio_from("screen share audio")

    def _audio_from(self, source: str) -> int:
        tracks = (track for participant in self.participants for track in participant.tracks)
        return sum(1 for track in tracks if track.type == "audio" and track.source == source)


@dataclass(frozen=True)
class EgressRow:
    egress_id: str
    room_name: str
    kind: str
    status: str
    started_at: datetime | None


@dataclass
class Overview:
    rooms: list[RoomRow] = field(default_factory=list)
    egress: list[EgressRow] = field(default_factory=list)
    rooms_error: LiveKitError | None = None
    egress_error: LiveKitError | None = None
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def error(self) -> LiveKitError | None:
        """LiveKit failed as a whole: one panel instead of one per section."""
        return self.rooms_error if self.rooms_error and self.egress_error else None


async def live_room_names(client: LiveKitClient) -> list[str]:
    """The names of the rooms open right now, sorted: what room selects offer."""
    return sorted(room.name for room in await client.list_rooms())


async def load_overview(client: LiveKitClient, *, shared: bool = True) -> Overview:
    """The overview, as read by anyone within LIVE_CACHE_SECONDS (`shared`), or read now."""
    rooms, active = partial(_load_rooms, client), partial(_load_egress, client)
    if shared:
        rooms = partial(livekit_cache.shared, client, "rooms", rooms)
        active = partial(livekit_cache.shared, client, "egress", active)
    (room_rows, rooms_error), (egress_rows, egress_error) = await asyncio.gather(
        _catch(rooms), _catch(active)
    )
    return Overview(room_rows, egress_rows, rooms_error, egress_error)


async def _catch[T](
    read: Callable[[], Awaitable[list[T]]],
) -> tuple[list[T], LiveKitError | None]:
    # The read is called here, not by the caller: a page left before its turn came (gather's
    # task cancelled before it started) leaves no coroutine that was never awaited.
    try:
        return await read(), None
    except LiveKitError as err:
        return [], err


async def _load_rooms(client: LiveKitClient) -> list[RoomRow]:
    rooms = sorted(await client.list_rooms(), key=lambda room: room.name)
    people = await asyncio.gather(*(_participants(client, room.name) for room in rooms))
    return [
        room_row(room, participants)
        for room, participants in zip(rooms, people, strict=True)
        if participants is not None
    ]


async def _load_egress(client: LiveKitClient) -> list[EgressRow]:
    active = await client.list_egress(active=True)
    return sorted((egress_row(info) for info in active), key=_started_first)


async def _participants(client: LiveKitClient, room: str) -> list[models.ParticipantInfo] | None:
    """The room's participants, or None if the room closed since we listed it."""
    try:
        return await client.list_participants(room)
    except LiveKitError as err:
        if err.code == "not_found":
            return None
        raise


def room_row(room: models.Room, participants: list[models.ParticipantInfo]) -> RoomRow:
    visible = [p for p in participants if p.kind != EGRESS_KIND]  # egress's own hidden bot
    return RoomRow(
        name=room.name,
        sid=room.sid,
        created_at=times.from_ms(room.creation_time_ms) or times.from_seconds(room.creation_time),
        active_recording=room.active_recording,
        participants=[participant_row(p) for p in visible],
    )


def participant_row(participant: models.ParticipantInfo) -> ParticipantRow:
    kind = _words(models.ParticipantInfo.Kind, participant.kind)
    return ParticipantRow(
        identity=participant.identity,
        name=participant.name,
        kind="" if kind == "standard" else kind,
        state=_words(models.ParticipantInfo.State, participant.state),
        joined_at=times.from_ms(participant.joined_at_ms)
        or times.from_seconds(participant.joined_at),
        tracks=[track_row(track) for track in participant.tracks],
    )


def track_row(track: models.TrackInfo) -> TrackRow:
    mime_type = track.mime_type or (track.codecs[0].mime_type if track.codecs else "")
    sized = track.type == models.TrackType.VIDEO and track.width and track.height
    return TrackRow(
        sid=track.sid,
        type=_words(models.TrackType, track.type),
        source=_words(models.TrackSource, track.source),
        muted=track.muted,
        mime_type=mime_type,
        resolution=f"{track.width}x{track.height}" if sized else "",
    )


def egress_row(info: egress.EgressInfo) -> EgressRow:
    return EgressRow(
        egress_id=info.egress_id,
        room_name=info.room_name,
        kind=egress_kind(info),
        status=_words(egress.EgressStatus, info.status, prefix="EGRESS_"),
        started_at=times.from_ns(info.started_at),
    )


def egress_kind(info: egress.EgressInfo) -> str:
    request = info.WhichOneof("request")
    if request == "egress":
        return _SOURCE_KINDS.get(info.egress.WhichOneof("source") or "", "Egress")
    return _REQUEST_KINDS.get(request or "", "Unknown")


def _started_first(row: EgressRow) -> datetime:
    return row.started_at or datetime.max.replace(tzinfo=UTC)


def _words(enum: EnumTypeWrapper, value: int, *, prefix: str = "") -> str:
    """LiveKit's name for `value` in words; "unknown (7)" for one a newer LiveKit added."""
    if value not in enum.values():
        return f"unknown ({value})"
    return enum.Name(value).removeprefix(prefix).lower().replace("_", " ")
