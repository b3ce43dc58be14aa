"""RoomService through the official SDK: the demo fixture, grants, the egress participant."""

from __future__ import annotations

import pytest
from livekit import api

from egress_app.sandbox.testing import RunningSandbox
from tests.sandbox.conftest import token

FILE = [api.EncodedFileOutput(filepath="r.mp4")]


async def test_it_lists_the_demo_rooms(lkapi: api.LiveKitAPI) -> None:
    rooms = {r.name: r for r in (await lkapi.room.list_rooms(api.ListRoomsRequest())).rooms}

    assert set(rooms) == {"town-hall", "podcast", "empty-room"}
    town_hall = rooms["town-hall"]
    assert town_hall.sid.startswith("RM_")
    assert (town_hall.num_participants, town_hall.num_publishers) == (3, 3)
    assert town_hall.creation_time > 0
    assert not town_hall.active_recording
    assert rooms["empty-room"].num_participants == 0


async def test_it_filters_rooms_by_name(lkapi: api.LiveKitAPI) -> None:
    listed = await lkapi.room.list_rooms(api.ListRoomsRequest(names=["podcast", "nope"]))

    assert [r.name for r in listed.rooms] == ["podcast"]


async def test_it_lists_participants_with_their_tracks(lkapi: api.LiveKitAPI) -> None:
    listed = await lkapi.room.list_participants(api.ListParticipantsRequest(room="town-hall"))

    by_identity = {p.identity: p for p in listed.participants}
    assert list(by_identity) == ["alice", "bob", "carol"]
    alice = by_identity["alice"]
    assert alice.sid.startswith("PA_")
    assert alice.joined_at > 0
    assert alice.kind == api.ParticipantInfo.Kind.STANDARD
    sources = {api.TrackSource.Name(t.source): t for t in alice.tracks}
    assert set(sources) == {"CAMERA", "MICROPHONE", "SCREEN_SHARE", "SCREEN_SHARE_AUDIO"}
    camera = sources["CAMERA"]
    assert camera.sid.startswith("TR_")
    assert camera.type == api.TrackType.VIDEO
    assert (camera.width, camera.height, camera.mime_type) == (1280, 720, "video/VP8")
    assert sources["MICROPHONE"].mime_type == "audio/opus"


async def test_it_gets_one_participant(lkapi: api.LiveKitAPI) -> None:
    host = await lkapi.room.get_participant(
        api.RoomParticipantIdentity(room="podcast", identity="host")
    )

    assert host.identity == "host"
    assert [api.TrackType.Name(t.type) for t in host.tracks] == ["AUDIO"]
    with pytest.raises(api.TwirpError) as caught:
        await lkapi.room.get_participant(api.RoomParticipantIdentity(room="podcast", identity="x"))
    assert (caught.value.code, caught.value.status) == ("not_found", 404)


async def test_it_shows_the_egress_participant_while_recording(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    info = await lkapi.egress.start_room_composite_egress(
        api.RoomCompositeEgressRequest(room_name="town-hall", file_outputs=FILE)
    )

    participants = (
        await lkapi.room.list_participants(api.ListParticipantsRequest(room="town-hall"))
    ).participants
    recorder = next(p for p in participants if p.identity == info.egress_id)
    assert recorder.kind == api.ParticipantInfo.Kind.EGRESS
    room = (await lkapi.room.list_rooms(api.ListRoomsRequest(names=["town-hall"]))).rooms[0]
    assert room.active_recording
    assert room.num_participants == 3

    sandbox.control.wait_for_status(info.egress_id, "ACTIVE")
    await lkapi.egress.stop_egress(api.StopEgressRequest(egress_id=info.egress_id))
    sandbox.control.wait_for_status(info.egress_id, "COMPLETE")
    room = (await lkapi.room.list_rooms(api.ListRoomsRequest(names=["town-hall"]))).rooms[0]
    assert not room.active_recording
    identities = [p.identity for p in sandbox.control.participants("town-hall")]
    assert info.egress_id not in identities


async def test_it_creates_and_deletes_rooms(lkapi: api.LiveKitAPI) -> None:
    created = await lkapi.room.create_room(api.CreateRoomRequest(name="standup", metadata="m"))
    again = await lkapi.room.create_room(api.CreateRoomRequest(name="standup"))

    assert created.sid.startswith("RM_")
    assert created.metadata == "m"
    assert again.sid == created.sid
    await lkapi.room.delete_room(api.DeleteRoomRequest(room="standup"))
    names = [r.name for r in (await lkapi.room.list_rooms(api.ListRoomsRequest())).rooms]
    assert "standup" not in names
    with pytest.raises(api.TwirpError) as caught:
        await lkapi.room.delete_room(api.DeleteRoomRequest(room="standup"))
    assert (caught.value.code, caught.value.message) == (
        "not_found",
        "requested room does not exist",
    )


async def test_it_ends_the_rooms_egresses_when_the_room_is_deleted(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    info = await lkapi.egress.start_participant_egress(
        api.ParticipantEgressRequest(room_name="podcast", identity="host", file_outputs=FILE)
    )
    sandbox.control.wait_for_status(info.egress_id, "ACTIVE")

    await lkapi.room.delete_room(api.DeleteRoomRequest(room="podcast"))

    ended = sandbox.control.wait_for_status(info.egress_id, "COMPLETE")
    assert ended.details == "End reason: Source closed"
    assert ended.source_type == api.EgressSourceType.EGRESS_SOURCE_TYPE_SDK


async def test_it_checks_room_admin_grants_against_the_room(sandbox: RunningSandbox) -> None:
    other_room = api.LiveKitAPI.with_token(
        token(sandbox, room_admin=True, room="podcast"), sandbox.url
    )
    try:
        with pytest.raises(api.TwirpError) as caught:
            await other_room.room.list_participants(api.ListParticipantsRequest(room="town-hall"))
        allowed = await other_room.room.list_participants(
            api.ListParticipantsRequest(room="podcast")
        )
        with pytest.raises(api.TwirpError) as no_create:
            await other_room.room.create_room(api.CreateRoomRequest(name="x"))
    finally:
        await other_room.aclose()

    assert (caught.value.code, caught.value.message) == ("unauthenticated", "permissions denied")
    assert len(allowed.participants) == 2
    assert no_create.value.status == 401


async def test_it_follows_control_changes(lkapi: api.LiveKitAPI, sandbox: RunningSandbox) -> None:
    dave = sandbox.control.add_participant("podcast", "dave", name="Dave", tracks=["microphone"])
    screen = sandbox.control.publish_track("podcast", "dave", "screen_share")
    sandbox.control.set_track_muted("podcast", dave.tracks[0].sid, True)

    fetched = await lkapi.room.get_participant(
        api.RoomParticipantIdentity(room="podcast", identity="dave")
    )
    assert fetched.name == "Dave"
    assert [t.sid for t in fetched.tracks] == [dave.tracks[0].sid, screen.sid]
    assert fetched.tracks[0].muted

    sandbox.control.unpublish_track("podcast", screen.sid)
    sandbox.control.remove_participant("podcast", "dave")
    listed = await lkapi.room.list_participants(api.ListParticipantsRequest(room="podcast"))
    assert [p.identity for p in listed.participants] == ["host", "guest"]


def test_it_resets_to_an_empty_world(sandbox: RunningSandbox) -> None:
    sandbox.control.reset(fixture="empty")

    assert sandbox.control.rooms() == []


async def test_it_mutes_a_published_track(lkapi: api.LiveKitAPI, sandbox: RunningSandbox) -> None:
    track = sandbox.control.track_sid("podcast", "host", "microphone")

    muted = await lkapi.room.mute_published_track(
        api.MuteRoomTrackRequest(room="podcast", identity="host", track_sid=track, muted=True)
    )

    assert (muted.track.sid, muted.track.muted) == (track, True)
    host = await lkapi.room.get_participant(
        api.RoomParticipantIdentity(room="podcast", identity="host")
    )
    assert host.tracks[0].muted


async def test_it_refuses_remote_unmute_unless_enabled(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    track = sandbox.control.track_sid("podcast", "host", "microphone")
    sandbox.control.set_track_muted("podcast", track, True)
    unmute = api.MuteRoomTrackRequest(room="podcast", identity="host", track_sid=track)

    with pytest.raises(api.TwirpError) as caught:
        await lkapi.room.mute_published_track(unmute)
    still_muted = sandbox.control.participants("podcast")[0].tracks[0].muted
    sandbox.control.set_remote_unmute(True)
    unmuted = await lkapi.room.mute_published_track(unmute)

    assert (caught.value.code, caught.value.status) == ("failed_precondition", 412)
    assert caught.value.message == "remote unmute not enabled"
    assert still_muted
    assert not unmuted.track.muted


async def test_it_answers_a_mute_of_someone_elses_track_without_a_track(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    guest_track = sandbox.control.track_sid("podcast", "guest", "microphone")

    answer = await lkapi.room.mute_published_track(
        api.MuteRoomTrackRequest(room="podcast", identity="host", track_sid=guest_track, muted=True)
    )
    with pytest.raises(api.TwirpError) as caught:
        await lkapi.room.mute_published_track(
            api.MuteRoomTrackRequest(
                room="podcast", identity="x", track_sid=guest_track, muted=True
            )
        )

    assert not answer.HasField("track")
    assert not sandbox.control.participants("podcast")[1].tracks[0].muted
    assert (caught.value.code, caught.value.message) == ("not_found", "participant does not exist")


async def test_it_removes_a_participant(lkapi: api.LiveKitAPI, sandbox: RunningSandbox) -> None:
    await lkapi.room.remove_participant(
        api.RoomParticipantIdentity(room="podcast", identity="guest")
    )
    with pytest.raises(api.TwirpError) as caught:
        await lkapi.room.remove_participant(
            api.RoomParticipantIdentity(room="podcast", identity="guest")
        )

    assert [p.identity for p in sandbox.control.participants("podcast")] == ["host"]
    assert (caught.value.code, caught.value.status) == ("not_found", 404)


async def test_it_updates_a_participant(lkapi: api.LiveKitAPI, sandbox: RunningSandbox) -> None:
    first = await lkapi.room.update_participant(
        api.UpdateParticipantRequest(
            room="podcast", identity="guest", metadata='{"a": 1}', attributes={"k": "v", "x": "y"}
        )
    )
    second = await lkapi.room.update_participant(
        api.UpdateParticipantRequest(
            room="podcast",
            identity="guest",
            name="Eli G.",
            attributes={"x": ""},
            permission=api.ParticipantPermission(can_subscribe=True, can_publish=False),
        )
    )

    assert (first.name, first.metadata, dict(first.attributes)) == (
        "Eli Guest",
        '{"a": 1}',
        {"k": "v", "x": "y"},
    )
    assert (second.name, second.metadata, dict(second.attributes)) == (
        "Eli G.",
        '{"a": 1}',
        {"k": "v"},
    )
    assert not second.permission.can_publish
    assert second.version > first.version


async def test_it_checks_room_admin_grants_for_participant_changes(
    sandbox: RunningSandbox,
) -> None:
    track = sandbox.control.track_sid("town-hall", "bob", "microphone")
    other_room = api.LiveKitAPI.with_token(
        token(sandbox, room_admin=True, room="podcast"), sandbox.url
    )
    refused = []
    try:
        for call in (
            other_room.room.mute_published_track(
                api.MuteRoomTrackRequest(
                    room="town-hall", identity="bob", track_sid=track, muted=True
                )
            ),
            other_room.room.remove_participant(
                api.RoomParticipantIdentity(room="town-hall", identity="bob")
            ),
            other_room.room.update_participant(
                api.UpdateParticipantRequest(room="town-hall", identity="bob", name="B")
            ),
        ):
            with pytest.raises(api.TwirpError) as caught:
                await call
            refused.append((caught.value.code, caught.value.status))
    finally:
        await other_room.aclose()

    assert refused == [("unauthenticated", 401)] * 3
    bob = sandbox.control.participants("town-hall")[1]
    assert (bob.name, bob.tracks[1].muted) == ("Bob Okafor", False)
