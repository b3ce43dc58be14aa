"""Our client against the sandbox: slow starts, event loops, settings."""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import async_to_sync
from livekit.protocol import egress
from pytest_django.fixtures import Settings

from egress_app.livekit import LiveKitClient, LiveKitError, LiveKitTimeout, get_livekit_client
from egress_app.livekit.transport import AiohttpTransport
from egress_app.sandbox.testing import RunningSandbox

FILE = egress.EncodedFileOutput(filepath="recordings/{room_name}.mp4")


async def test_it_times_out_a_slow_start_and_the_egress_still_exists(
    sandbox: RunningSandbox,
) -> None:
    client = LiveKitClient(sandbox.url, sandbox.api_key, sandbox.api_secret, start_timeout=0.3)
    await client.create_room("slow-studio")

    with pytest.raises(LiveKitTimeout) as caught:
        await client.start_room_composite_egress(
            egress.RoomCompositeEgressRequest(room_name="slow-studio", file_outputs=[FILE])
        )
    assert "the egress may still have been created" in caught.value.message

    # LiveKit keeps working after we gave up: reconcile through the list, never by retrying.
    found: list[egress.EgressInfo] = []
    for _ in range(100):
        found = await client.list_egress(room_name="slow-studio")
        if found:
            break
        await asyncio.sleep(0.05)
    await client.aclose()

    assert len(found) == 1
    assert found[0].room_name == "slow-studio"


async def test_it_accepts_a_websocket_url(sandbox: RunningSandbox) -> None:
    client = LiveKitClient(sandbox.url.replace("http://", "ws://"), "devkey", "secret")

    rooms = await client.list_rooms(["podcast"])
    await client.aclose()

    assert [room.name for room in rooms] == ["podcast"]


def test_it_serves_several_event_loops_with_one_instance(sandbox: RunningSandbox) -> None:
    client = LiveKitClient(sandbox.url, sandbox.api_key, sandbox.api_secret)

    async def names() -> list[str]:
        return [room.name for room in await client.list_rooms()]

    first = asyncio.run(names())
    second = asyncio.run(names())  # a new loop: the first loop's pool must not be reused
    from_thread: list[list[str]] = []
    thread = threading.Thread(target=lambda: from_thread.append(async_to_sync(names)()))
    thread.start()
    thread.join(10)

    assert first == second == from_thread[0] == ["town-hall", "podcast", "empty-room"]


def test_it_closes_each_loops_pool_when_that_loop_shuts_down(sandbox: RunningSandbox) -> None:
    client = LiveKitClient(sandbox.url, sandbox.api_key, sandbox.api_secret)
    pools: list[AiohttpTransport] = []

    async def call() -> None:
        await client.list_rooms()
        pools.append(client._pools[asyncio.get_running_loop()].transport)

    for _ in range(3):
        asyncio.run(call())

    assert len(set(map(id, pools))) == 3
    assert all(pool.is_closed for pool in pools)
    assert len(client._pools) <= 1  # closed loops' pools are forgotten


async def test_it_builds_the_client_from_settings(
    sandbox: RunningSandbox, settings: Settings
) -> None:
    settings.LIVEKIT_WIRE_FORMAT = "json"
    client = get_livekit_client()

    assert client is get_livekit_client()
    assert client.url == sandbox.url
    assert client.wire_format == "json"
    assert [room.name for room in await client.list_rooms(["podcast"])] == ["podcast"]
    await client.aclose()

    settings.LIVEKIT_START_TIMEOUT = 1.5
    assert get_livekit_client() is not client
    assert get_livekit_client().start_timeout == 1.5


async def test_it_starts_any_egress_by_its_rpc_name(sandbox: RunningSandbox) -> None:
    client = LiveKitClient(sandbox.url, sandbox.api_key, sandbox.api_secret)
    request = egress.ParticipantEgressRequest(
        room_name="town-hall", identity="alice", file_outputs=[FILE]
    )
    info = await client.start("StartParticipantEgress", request)
    assert info.WhichOneof("request") == "participant"
    with pytest.raises(ValueError, match="not one of LiveKit's Start RPCs"):
        await client.start("StopEgress", request)
    await client.aclose()


@pytest.mark.parametrize("wire_format", ["protobuf", "json"])
async def test_it_sends_data_into_a_room(sandbox: RunningSandbox, wire_format: str) -> None:
    client = LiveKitClient(
        sandbox.url, sandbox.api_key, sandbox.api_secret, wire_format=wire_format
    )

    await client.send_data("podcast", b'{"text": "hi"}', topic="captions")
    await client.send_data("podcast", b"x", reliable=False, destination_identities=["guest"])
    await client.aclose()

    first, second = sandbox.control.data_packets("podcast")
    assert (first.payload, first.topic, first.kind) == (b'{"text": "hi"}', "captions", "RELIABLE")
    assert set(first.recipients) == {"host", "guest"}
    assert len(first.nonce) == 16
    assert first.nonce != second.nonce
    assert (second.topic, second.kind, second.recipients) == (None, "LOSSY", ("guest",))


async def test_it_raises_the_twirp_code_when_the_room_is_gone(sandbox: RunningSandbox) -> None:
    client = LiveKitClient(sandbox.url, sandbox.api_key, sandbox.api_secret)

    with pytest.raises(LiveKitError) as caught:
        await client.send_data("nowhere", b"x", topic="captions")
    await client.aclose()

    assert (caught.value.code, caught.value.status) == ("not_found", 404)
    assert sandbox.control.data_packets() == []
