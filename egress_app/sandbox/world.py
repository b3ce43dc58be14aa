"""The sandbox's rooms, participants and tracks, shaped like LiveKit's RoomService protos."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal, cast

from livekit.protocol import models

from egress_app.sandbox.ids import new_id

STANDARD = models.ParticipantInfo.Kind.STANDARD
EGRESS = models.ParticipantInfo.Kind.EGRESS

TrackSourceName = Literal["camera", "microphone", "screen_share", "screen_share_audio"]

EventName = Literal[
    "room_started",
    "room_finished",
    "participant_joined",
    "participant_left",
    "track_published",
    "track_unpublished",
    "track_muted",
]


@dataclass(frozen=True)
class TrackSpec:
    type: models.TrackType
    source: models.TrackSource
    name: str
    mime_type: str
    width: int = 0
    height: int = 0


TRACK_SPECS: dict[str, TrackSpec] = {
    "camera": TrackSpec(
        models.TrackType.VIDEO, models.TrackSource.CAMERA, "camera", "video/VP8", 1280, 720
    ),
    "microphone": TrackSpec(
        models.TrackType.AUDIO, models.TrackSource.MICROPHONE, "microphone", "audio/opus"
    ),
    "screen_share": TrackSpec(
        models.TrackType.VIDEO, models.TrackSource.SCREEN_SHARE, "screen", "video/VP8", 1920, 1080
    ),
    "screen_share_audio": TrackSpec(
        models.TrackType.AUDIO, models.TrackSource.SCREEN_SHARE_AUDIO, "screen_audio", "audio/opus"
    ),
}


@dataclass(frozen=True)
class WorldEvent:
    name: EventName
    room: models.Room
    participant: models.ParticipantInfo | None = None
    track: models.TrackInfo | None = None


class WorldError(Exception):
    """A control request that does not fit the current world (duplicate identity, bad source)."""


class WorldNotFound(WorldError):
    """The room, participant or track named does not exist."""


@dataclass
class RoomState:
    room: models.Room
    participants: dict[str, models.ParticipantInfo] = field(default_factory=dict)


def _now() -> tuple[int, int]:
    ms = int(time.time() * 1000)
    return ms // 1000, ms


def _participant_counts(participants: Iterable[models.ParticipantInfo]) -> tuple[int, int]:
    # LiveKit leaves "dependent" participants (egress, agents) out of the room's counts.
    people = [p for p in participants if p.kind != EGRESS]
    return len(people), sum(1 for p in people if p.is_publisher)


class World:
    """Rooms by name. Every change is reported to `listener` (webhooks, egress endings)."""

    def __init__(self, listener: Callable[[WorldEvent], None] | None = None) -> None:
        self.rooms: dict[str, RoomState] = {}
        self.listener = listener or (lambda event: None)

    # --- rooms -----------------------------------------------------------------------------------
    def get(self, name: str) -> RoomState:
        state = self.rooms.get(name)
        if state is None:
            raise WorldNotFound(f"room {name} does not exist")
        return state

    def create_room(
        self,
        name: str,
        *,
        metadata: str = "",
        max_participants: int = 0,
        empty_timeout: int = 300,
        departure_timeout: int = 20,
    ) -> models.Room:
        if name in self.rooms:
            return self.rooms[name].room
        seconds, ms = _now()
        room = models.Room(
            sid=new_id("RM_"),
            name=name,
            metadata=metadata,
            max_participants=max_participants,
            empty_timeout=empty_timeout,
            departure_timeout=departure_timeout,
            creation_time=seconds,
            creation_time_ms=ms,
        )
        self.rooms[name] = RoomState(room)
        self._emit("room_started", name)
        return room

    def delete_room(self, name: str) -> None:
        state = self.get(name)
        for identity, participant in list(state.participants.items()):
            if participant.kind != EGRESS:
                self.remove_participant(name, identity)
        self.listener(WorldEvent("room_finished", _copy(state.room)))
        del self.rooms[name]

    def set_active_recording(self, name: str, active: bool) -> None:
        if name in self.rooms:
            self.rooms[name].room.active_recording = active

    # --- participants ----------------------------------------------------------------------------
    def add_participant(
        self,
        room: str,
        identity: str,
        *,
        name: str = "",
        tracks: Iterable[str] = ("camera", "microphone"),
        kind: int = STANDARD,
        metadata: str = "",
    ) -> models.ParticipantInfo:
        state = self.get(room)
        if not identity:
            raise WorldError("identity is required")
        if identity in state.participants:
            raise WorldError(f"participant {identity} is already in room {room}")
        sources = list(tracks)
        for source in sources:
            _spec(source)
        seconds, ms = _now()
        participant = models.ParticipantInfo(
            sid=new_id("PA_"),
            identity=identity,
            name=name,
            metadata=metadata,
            kind=cast(models.ParticipantInfo.Kind, kind),
            state=models.ParticipantInfo.State.ACTIVE,
            joined_at=seconds,
            joined_at_ms=ms,
            version=1,
            permission=models.ParticipantPermission(
                can_subscribe=True,
                can_publish=kind != EGRESS,
                can_publish_data=True,
                hidden=kind == EGRESS,
                recorder=kind == EGRESS,
            ),
        )
        state.participants[identity] = participant
        self._recount(state)
        if kind != EGRESS:
            self._emit("participant_joined", room, participant)
        for source in sources:
            self.publish_track(room, identity, source)
        return _copy(participant)

    def remove_participant(self, room: str, identity: str) -> None:
        state = self.get(room)
        participant = state.participants.get(identity)
        if participant is None:
            raise WorldNotFound(f"participant {identity} is not in room {room}")
        for track in list(participant.tracks):
            self.unpublish_track(room, track.sid)
        del state.participants[identity]
        participant.state = models.ParticipantInfo.State.DISCONNECTED
        self._recount(state)
        if participant.kind != EGRESS:
            self._emit("participant_left", room, participant)

    def update_participant(
        self,
        room: str,
        identity: str,
        *,
        name: str = "",
        metadata: str = "",
        attributes: dict[str, str] | None = None,
        permission: models.ParticipantPermission | None = None,
    ) -> models.ParticipantInfo:
        participant = self.get(room).participants.get(identity)
        if participant is None:
            raise WorldNotFound(f"participant {identity} is not in room {room}")
        if name:
            participant.name = name
        if metadata:
            participant.metadata = metadata
        for key, value in (attributes or {}).items():
            if value:
                participant.attributes[key] = value
            else:
                participant.attributes.pop(key, None)
        if permission is not None:
            participant.permission.CopyFrom(permission)
        participant.version += 1
        return _copy(participant)

    # --- tracks ----------------------------------------------------------------------------------
    def publish_track(self, room: str, identity: str, source: str) -> models.TrackInfo:
        state = self.get(room)
        participant = state.participants.get(identity)
        if participant is None:
            raise WorldNotFound(f"participant {identity} is not in room {room}")
        spec = _spec(source)
        track = models.TrackInfo(
            sid=new_id("TR_"),
            type=spec.type,
            source=spec.source,
            name=spec.name,
            mime_type=spec.mime_type,
            width=spec.width,
            height=spec.height,
            stereo=False,
            simulcast=spec.type == models.TrackType.VIDEO,
        )
        participant.tracks.append(track)
        participant.is_publisher = True
        self._recount(state)
        self._emit("track_published", room, participant, track)
        return _copy(track)

    def unpublish_track(self, room: str, track_sid: str) -> None:
        state = self.get(room)
        participant, track = self.find_track(room, track_sid)
        removed = _copy(track)
        kept = [t for t in participant.tracks if t.sid != track_sid]
        del participant.tracks[:]
        participant.tracks.extend(kept)
        self._recount(state)
        self._emit("track_unpublished", room, participant, removed)

    def set_track_muted(self, room: str, track_sid: str, muted: bool) -> models.TrackInfo:
        participant, track = self.find_track(room, track_sid)
        if track.muted != muted:
            track.muted = muted
            self._emit("track_muted", room, participant, track)
        return _copy(track)

    def find_track(
        self, room: str, track_sid: str
    ) -> tuple[models.ParticipantInfo, models.TrackInfo]:
        for participant in self.get(room).participants.values():
            for track in participant.tracks:
                if track.sid == track_sid:
                    return participant, track
        raise WorldNotFound(f"track {track_sid} is not in room {room}")

    def track_owner(self, room: str, track_sid: str) -> models.ParticipantInfo | None:
        try:
            return self.find_track(room, track_sid)[0]
        except WorldError:
            return None

    # --- internals -------------------------------------------------------------------------------
    def _recount(self, state: RoomState) -> None:
        count, publishers = _participant_counts(state.participants.values())
        state.room.num_participants = count
        state.room.num_publishers = publishers

    def _emit(
        self,
        name: EventName,
        room: str,
        participant: models.ParticipantInfo | None = None,
        track: models.TrackInfo | None = None,
    ) -> None:
        self.listener(
            WorldEvent(
                name,
                _copy(self.rooms[room].room),
                _copy(participant) if participant is not None else None,
                _copy(track) if track is not None else None,
            )
        )


def _spec(source: str) -> TrackSpec:
    try:
        return TRACK_SPECS[source]
    except KeyError:
        raise WorldError(
            f"unknown track source {source!r}; use one of {sorted(TRACK_SPECS)}"
        ) from None


def _copy[M: (models.Room, models.ParticipantInfo, models.TrackInfo)](message: M) -> M:
    clone = type(message)()
    clone.CopyFrom(message)
    return clone


def load_fixture(world: World, fixture: str) -> None:
    """Fill an empty world without sending any events (the server was 'already running')."""
    listener, world.listener = world.listener, (lambda event: None)
    try:
        if fixture == "demo":
            _demo(world)
        elif fixture != "empty":
            raise WorldError(f"unknown fixture {fixture!r}")
    finally:
        world.listener = listener


def _demo(world: World) -> None:
    world.create_room("town-hall", metadata='{"title": "Town hall"}')
    world.add_participant(
        "town-hall",
        "alice",
        name="Alice Moreau",
        tracks=("camera", "microphone", "screen_share", "screen_share_audio"),
    )
    world.add_participant("town-hall", "bob", name="Bob Okafor")
    world.add_participant("town-hall", "carol", name="Carol Lindqvist")
    world.create_room("podcast")
    world.add_participant("podcast", "host", name="Dana Host", tracks=("microphone",))
    world.add_participant("podcast", "guest", name="Eli Guest", tracks=("microphone",))
    world.create_room("empty-room")
