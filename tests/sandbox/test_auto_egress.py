"""LiveKit's own auto egress (CreateRoom's `egress`) through the official SDK, as livekit/livekit
starts it (egress_app/sandbox/auto_egress.py cites where): the room composite with the room,
each participant's egress at its first published track, a track egress per track published,
each announced by webhooks."""

from __future__ import annotations

from livekit import api

from egress_app.sandbox.auto_egress import track_filepath
from egress_app.sandbox.testing import RunningSandbox
from tests.sandbox.conftest import WebhookInbox, eventually

FILE = api.EncodedFileOutput(filepath="auto/{room_name}.mp4")


def _room_egress(**parts: object) -> api.RoomEgress:
    return api.RoomEgress(**parts)  # type: ignore[arg-type]  # the protobuf keywords


def _kinds(sandbox: RunningSandbox, room: str) -> list[str]:
    infos = [i for i in sandbox.control.egresses() if i.room_name == room]
    return sorted(str(i.WhichOneof("request")) for i in infos)


async def test_it_starts_the_room_composite_when_the_room_is_created(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox, inbox: WebhookInbox
) -> None:
    composite = api.RoomCompositeEgressRequest(room_name="ignored", file_outputs=[FILE])
    created = await lkapi.room.create_room(
        api.CreateRoomRequest(name="webinar-1", egress=_room_egress(room=composite))
    )

    [info] = [i for i in sandbox.control.egresses() if i.room_name == "webinar-1"]
    assert info.room_id == created.sid
    assert info.room_composite.room_name == "webinar-1"  # forced to the room's name
    inbox.wait_for(2)
    # Delivered concurrently, as LiveKit's webhook queue may: both, in either order.
    assert {e.event for e in inbox.events(sandbox)} >= {"room_started", "egress_started"}


async def test_it_starts_nothing_for_a_room_that_exists(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    await lkapi.room.create_room(api.CreateRoomRequest(name="standup"))
    composite = api.RoomCompositeEgressRequest(file_outputs=[FILE])

    await lkapi.room.create_room(
        api.CreateRoomRequest(name="standup", egress=_room_egress(room=composite))
    )

    assert _kinds(sandbox, "standup") == []


async def test_it_records_each_participant_at_its_first_track_and_each_track(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    participant = api.AutoParticipantEgress(
        preset=api.EncodingOptionsPreset.H264_720P_30, file_outputs=[FILE]
    )
    tracks = api.AutoTrackEgress(filepath="tracks/")
    await lkapi.room.create_room(
        api.CreateRoomRequest(
            name="webinar-2", egress=_room_egress(participant=participant, tracks=tracks)
        )
    )
    sandbox.control.add_participant("webinar-2", "viewer", tracks=())
    assert _kinds(sandbox, "webinar-2") == []  # joining starts nothing

    sandbox.control.add_participant("webinar-2", "host", tracks=("camera", "microphone"))

    eventually(lambda: len(_kinds(sandbox, "webinar-2")) == 3)
    assert _kinds(sandbox, "webinar-2") == ["participant", "track", "track"]
    infos = [i for i in sandbox.control.egresses() if i.room_name == "webinar-2"]
    [by_participant] = [i for i in infos if i.WhichOneof("request") == "participant"]
    assert by_participant.participant.identity == "host"
    assert by_participant.participant.preset == api.EncodingOptionsPreset.H264_720P_30
    assert all(
        i.track.file.filepath == "tracks/" for i in infos if i.WhichOneof("request") == "track"
    )


async def test_it_reports_an_auto_egress_that_cannot_start_by_webhook(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox, inbox: WebhookInbox
) -> None:
    # A room named no-workers-… has no egress worker to answer (the sandbox's trigger).
    participant = api.AutoParticipantEgress(file_outputs=[FILE])
    await lkapi.room.create_room(
        api.CreateRoomRequest(name="no-workers-3", egress=_room_egress(participant=participant))
    )
    sandbox.control.add_participant("no-workers-3", "host", tracks=("microphone",))

    eventually(lambda: "egress_ended" in [e.event for e in inbox.events(sandbox)])
    [ended] = [e for e in inbox.events(sandbox) if e.event == "egress_ended"]
    assert ended.egress_info.status == api.EgressStatus.EGRESS_FAILED
    assert ended.egress_info.participant.identity == "host"
    assert ended.egress_info.error


def test_it_names_track_files_as_livekit_does() -> None:
    assert track_filepath("") == ""
    assert track_filepath("tracks/") == "tracks/"
    assert track_filepath("a/{track_id}.ogg") == "a/{track_id}.ogg"
    assert track_filepath("a/track.ogg") == "a/track-{track_id}.ogg"
    assert track_filepath("a/track") == "a/track-{track_id}"
