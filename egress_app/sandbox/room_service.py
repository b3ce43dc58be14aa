"""The `livekit.RoomService` Twirp service: the parts a dashboard uses (rooms, participants, mute,
data packets).

Behaviour from livekit/livekit (L:) pkg/service/roomservice.go and pkg/service/roommanager.go.
"""

from __future__ import annotations

from typing import cast

from google.protobuf.message import Message
from livekit.protocol import models, room

from egress_app.sandbox.auth import Grants
from egress_app.sandbox.core import Sandbox
from egress_app.sandbox.data import check_nonce
from egress_app.sandbox.errors import TwirpError, room_not_found
from egress_app.sandbox.twirp import Method
from egress_app.sandbox.world import WorldNotFound

SERVICE = "livekit.RoomService"


def _copy[M: (models.Room, models.ParticipantInfo)](message: M) -> M:
    clone = type(message)()
    clone.CopyFrom(message)
    return clone


def methods(sandbox: Sandbox) -> dict[str, Method]:
    world = sandbox.world

    async def list_rooms(request: Message, grants: Grants) -> Message:
        grants.require("roomList")
        names = set(cast(room.ListRoomsRequest, request).names)
        rooms = [_copy(s.room) for s in world.rooms.values() if not names or s.room.name in names]
        return room.ListRoomsResponse(rooms=rooms)

    async def list_participants(request: Message, grants: Grants) -> Message:
        name = cast(room.ListParticipantsRequest, request).room
        grants.require_admin(name)
        state = world.rooms.get(name)
        participants = [_copy(p) for p in state.participants.values()] if state else []
        return room.ListParticipantsResponse(participants=participants)

    async def get_participant(request: Message, grants: Grants) -> Message:
        ask = cast(room.RoomParticipantIdentity, request)
        grants.require_admin(ask.room)
        state = world.rooms.get(ask.room)
        if state is None or ask.identity not in state.participants:
            raise TwirpError("not_found", "participant does not exist")
        return _copy(state.participants[ask.identity])

    def participant(room_name: str, identity: str) -> models.ParticipantInfo:
        # L:pkg/service/errors.go ErrParticipantNotFound (also for a room that does not exist:
        # the OSS store is asked for the participant first, L:roomservice.go RemoveParticipant).
        state = world.rooms.get(room_name)
        if state is None or identity not in state.participants:
            raise TwirpError("not_found", "participant does not exist")
        return state.participants[identity]

    async def remove_participant(request: Message, grants: Grants) -> Message:
        ask = cast(room.RoomParticipantIdentity, request)
        grants.require_admin(ask.room)
        participant(ask.room, ask.identity)
        world.remove_participant(ask.room, ask.identity)
        return room.RemoveParticipantResponse()

    async def mute_published_track(request: Message, grants: Grants) -> Message:
        ask = cast(room.MuteRoomTrackRequest, request)
        grants.require_admin(ask.room)
        owner = participant(ask.room, ask.identity)
        # L:roommanager.go MutePublishedTrack: unmuting someone else is refused unless the server
        # sets room.enable_remote_unmute (off by default).
        if not ask.muted and not sandbox.config.enable_remote_unmute:
            raise TwirpError("failed_precondition", "remote unmute not enabled")
        # L:pkg/rtc/participant.go setTrackMuted: a track the participant does not publish is no
        # error, the answer just has no track.
        if not any(track.sid == ask.track_sid for track in owner.tracks):
            return room.MuteRoomTrackResponse()
        try:
            track = world.set_track_muted(ask.room, ask.track_sid, ask.muted)
        except WorldNotFound:
            return room.MuteRoomTrackResponse()
        return room.MuteRoomTrackResponse(track=track)

    async def update_participant(request: Message, grants: Grants) -> Message:
        ask = cast(room.UpdateParticipantRequest, request)
        grants.require_admin(ask.room)
        participant(ask.room, ask.identity)
        # L:pkg/rtc/participant.go UpdateMetadata: empty name/metadata leave them as they are;
        # attributes merge, an empty value deleting its key; a permission replaces the old one.
        return world.update_participant(
            ask.room,
            ask.identity,
            name=ask.name,
            metadata=ask.metadata,
            attributes=dict(ask.attributes),
            permission=ask.permission if ask.HasField("permission") else None,
        )

    async def create_room(request: Message, grants: Grants) -> Message:
        grants.require("roomCreate")
        ask = cast(room.CreateRoomRequest, request)
        if not ask.name:
            raise TwirpError("invalid_argument", "room name cannot be empty")
        created = ask.name not in world.rooms
        answer = world.create_room(
            ask.name,
            metadata=ask.metadata,
            max_participants=ask.max_participants,
            empty_timeout=ask.empty_timeout or 300,
            departure_timeout=ask.departure_timeout or 20,
        )
        # L:roommanager.go getOrCreateRoom: auto egress for a room this call created only.
        if created and ask.HasField("egress"):
            sandbox.auto_egress.room_created(answer, ask.egress)
        return _copy(answer)

    async def delete_room(request: Message, grants: Grants) -> Message:
        grants.require("roomCreate")
        name = cast(room.DeleteRoomRequest, request).room
        if name not in world.rooms:
            raise room_not_found()
        world.delete_room(name)
        return room.DeleteRoomResponse()

    async def send_data(request: Message, grants: Grants) -> Message:
        ask = cast(room.SendDataRequest, request)
        grants.require_admin(ask.room)
        check_nonce(ask)
        state = world.rooms.get(ask.room)
        # L:roommanager.go SendData answers ErrRoomNotFound when the room's node no longer has
        # it. A room no node ever had gets no answer on its psrpc topic: LiveKit then says
        # `unavailable` ("no response from servers") after psrpc's timeout; the sandbox answers
        # not_found at once for both, so a test need not wait seconds.
        if state is None:
            raise room_not_found()
        sandbox.data.record(ask, state.participants.values())
        return room.SendDataResponse()

    return {
        "ListRooms": Method(room.ListRoomsRequest, list_rooms),
        "ListParticipants": Method(room.ListParticipantsRequest, list_participants),
        "GetParticipant": Method(room.RoomParticipantIdentity, get_participant),
        "RemoveParticipant": Method(room.RoomParticipantIdentity, remove_participant),
        "MutePublishedTrack": Method(room.MuteRoomTrackRequest, mute_published_track),
        "UpdateParticipant": Method(room.UpdateParticipantRequest, update_participant),
        "CreateRoom": Method(room.CreateRoomRequest, create_room),
        "DeleteRoom": Method(room.DeleteRoomRequest, delete_room),
        "SendData": Method(room.SendDataRequest, send_data),
    }
