"""The client against loopback stand-ins: a recording server, a proxy's 502, silence, hang-ups."""

from __future__ import annotations

import json
import time

import pytest
from livekit.api import TokenVerifier
from livekit.protocol import egress, room

from egress_app.livekit import LiveKitClient, LiveKitError, LiveKitTimeout, LiveKitUnreachable
from egress_app.livekit.client import http_url
from tests.livekit.conftest import Recorded

KEY, SECRET = "devkey", "secret"
RECORD = {"roomRecord": True}


def grants(headers: dict[str, str]) -> dict[str, object]:
    scheme, token = headers["authorization"].split(" ")
    assert scheme == "Bearer"
    video = TokenVerifier(KEY, SECRET).verify(token).video
    assert video is not None
    return {key: value for key, value in vars(video).items() if value not in (None, "")}


SDK_DEFAULTS = {"can_publish": True, "can_subscribe": True, "can_publish_data": True}


async def test_it_signs_each_rpc_with_exactly_its_grant(
    recording_server: tuple[str, Recorded],
) -> None:
    url, recorded = recording_server
    client = LiveKitClient(url, KEY, SECRET)
    await client.start_room_composite_egress(egress.RoomCompositeEgressRequest(room_name="r"))
    await client.start_egress(egress.StartEgressRequest(room_name="r"))
    await client.update_layout("EG_1", "grid")
    await client.update_stream("EG_1", add_output_urls=["rtmp://a/b/c"])
    await client.list_egress(room_name="r")
    await client.stop_egress("EG_1")
    await client.list_rooms()
    await client.list_participants("studio")
    await client.create_room("studio")
    await client.delete_room("studio")
    await client.aclose()

    seen = {path: grants(headers) for path, headers, _ in recorded.requests}

    # The SDK's VideoGrants defaults fill in the can_* flags; the token itself carries none.
    expected = {
        "/twirp/livekit.Egress/StartRoomCompositeEgress": {"room_record": True},
        "/twirp/livekit.Egress/StartEgress": {"room_record": True},
        "/twirp/livekit.Egress/UpdateLayout": {"room_record": True},
        "/twirp/livekit.Egress/UpdateStream": {"room_record": True},
        "/twirp/livekit.Egress/ListEgress": {"room_record": True},
        "/twirp/livekit.Egress/StopEgress": {"room_record": True},
        "/twirp/livekit.RoomService/ListRooms": {"room_list": True},
        "/twirp/livekit.RoomService/ListParticipants": {"room_admin": True, "room": "studio"},
        "/twirp/livekit.RoomService/CreateRoom": {"room_create": True},
        "/twirp/livekit.RoomService/DeleteRoom": {"room_create": True},
    }
    assert seen == {path: {**SDK_DEFAULTS, **grant} for path, grant in expected.items()}


async def test_it_sends_protobuf_with_our_user_agent(
    recording_server: tuple[str, Recorded],
) -> None:
    url, recorded = recording_server
    client = LiveKitClient(url, KEY, SECRET)
    await client.stop_egress("EG_1")
    await client.aclose()

    [(_, headers, body)] = recorded.requests
    assert headers["content-type"] == "application/protobuf"
    assert headers["user-agent"].startswith("egress-dashboard/")
    assert egress.StopEgressRequest.FromString(body).egress_id == "EG_1"


async def test_it_sends_snake_case_json_when_asked(
    recording_server: tuple[str, Recorded],
) -> None:
    url, recorded = recording_server
    client = LiveKitClient(url, KEY, SECRET, wire_format="json")
    await client.list_egress(room_name="town-hall", active=True)
    await client.aclose()

    [(_, headers, body)] = recorded.requests
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"room_name": "town-hall", "active": True}


async def test_it_signs_each_grant_with_its_own_token(
    recording_server: tuple[str, Recorded],
) -> None:
    url, recorded = recording_server
    client = LiveKitClient(url, KEY, SECRET)
    await client.list_rooms()
    await client.list_participants("a")
    await client.aclose()

    first, second = (headers["authorization"] for _, headers, _ in recorded.requests)
    assert first != second


async def test_it_reuses_pooled_connections(recording_server: tuple[str, Recorded]) -> None:
    url, recorded = recording_server
    client = LiveKitClient(url, KEY, SECRET)
    for _ in range(5):
        await client.list_rooms()
    await client.aclose()

    assert len(recorded.requests) == 5
    assert recorded.connections == 1


def test_it_speaks_http_to_websocket_urls() -> None:
    assert http_url("ws://127.0.0.1:7880") == "http://127.0.0.1:7880"
    assert http_url("wss://demo.livekit.cloud/") == "https://demo.livekit.cloud"
    assert http_url("https://lk.example.com/base/") == "https://lk.example.com/base"


async def test_it_reports_an_unreachable_server(closed_port_url: str) -> None:
    client = LiveKitClient(closed_port_url, KEY, SECRET)

    with pytest.raises(LiveKitUnreachable) as caught:
        await client.list_rooms()

    error = caught.value
    assert error.code == "unavailable"
    assert error.status is None
    assert error.message == "connection refused"
    assert error.plain == f"LiveKit is unreachable at {closed_port_url}: connection refused."
    await client.aclose()


async def test_it_reports_a_proxys_html_502_in_short(proxy_502_url: str) -> None:
    client = LiveKitClient(proxy_502_url, KEY, SECRET)

    with pytest.raises(LiveKitError) as caught:
        await client.list_egress()

    error = caught.value
    assert (error.code, error.status) == ("unavailable", 502)
    assert error.message == "502 Bad Gateway 502 Bad Gateway nginx/1.27.0"
    assert str(error) == "unavailable: 502 Bad Gateway 502 Bad Gateway nginx/1.27.0 (HTTP 502)"
    assert "proxy" in error.plain
    await client.aclose()


async def test_it_times_out_ordinary_calls(silent_url: str) -> None:
    client = LiveKitClient(silent_url, KEY, SECRET, timeout=0.2)

    with pytest.raises(LiveKitTimeout) as caught:
        await client.list_rooms()

    assert caught.value.code == "deadline_exceeded"
    assert caught.value.status is None
    assert "may still" not in caught.value.message
    await client.aclose()


async def test_it_gives_starts_their_own_longer_timeout(silent_url: str) -> None:
    client = LiveKitClient(silent_url, KEY, SECRET, timeout=0.05, start_timeout=0.4)
    began = time.monotonic()

    with pytest.raises(LiveKitTimeout) as caught:
        await client.start_web_egress(egress.WebEgressRequest(url="https://example.com"))

    assert time.monotonic() - began >= 0.35
    assert "the egress may still have been created" in caught.value.message
    assert "may still have been created" in caught.value.plain
    await client.aclose()


async def test_it_retries_an_ordinary_call_once_after_a_hang_up(
    dropping_server: tuple[str, Recorded],
) -> None:
    url, recorded = dropping_server
    client = LiveKitClient(url, KEY, SECRET)

    with pytest.raises(LiveKitUnreachable):
        await client.list_participants("studio")

    assert len(recorded.requests) == 2
    await client.aclose()


async def test_it_never_retries_a_start(dropping_server: tuple[str, Recorded]) -> None:
    url, recorded = dropping_server
    client = LiveKitClient(url, KEY, SECRET)

    with pytest.raises(LiveKitUnreachable) as caught:
        await client.start_track_egress(egress.TrackEgressRequest(room_name="r", track_id="TR_1"))

    assert len(recorded.requests) == 1
    assert "may still have been created" in caught.value.message
    await client.aclose()


async def test_it_rejects_an_answer_it_cannot_decode(proxy_502_url: str) -> None:
    # Same stand-in, but the interesting part is that nothing here leaks the token or body.
    client = LiveKitClient(proxy_502_url, KEY, SECRET)

    with pytest.raises(LiveKitError) as caught:
        await client.create_room("secret-room-name")

    assert "secret-room-name" not in str(caught.value)
    assert "eyJ" not in str(caught.value)
    await client.aclose()


def test_it_refuses_an_unknown_wire_format() -> None:
    with pytest.raises(ValueError, match="wire_format"):
        LiveKitClient("http://127.0.0.1:7880", KEY, SECRET, wire_format="xml")


def test_it_builds_list_requests_like_the_sdk() -> None:
    # ListRooms with no names is an empty message on the wire, as the SDK sends it.
    assert room.ListRoomsRequest(names=[]).SerializeToString() == b""
