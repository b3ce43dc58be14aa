"""RoomService SendData through the official SDK: what the sandbox records, and its refusals."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from livekit import api

from egress_app.sandbox.testing import RunningSandbox
from tests.sandbox.conftest import token, twirp

PODCAST_ADMIN: dict[str, Any] = {"room_admin": True, "room": "podcast"}


def _raw(sandbox: RunningSandbox, body: dict[str, Any], grants: dict[str, Any]) -> httpx.Response:
    """SendData as raw Twirp JSON (the SDK always adds a good nonce)."""
    return twirp(sandbox, "SendData", body, service="livekit.RoomService", **grants)


def _send(room: str = "podcast", **fields: object) -> api.SendDataRequest:
    return api.SendDataRequest(room=room, data=b'{"text": "hello"}', **fields)  # type: ignore[arg-type]  # the proto's keyword arguments


async def test_it_records_a_packet_for_everyone_in_the_room(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    await lkapi.room.send_data(_send(topic="captions", kind=api.DataPacket.Kind.RELIABLE))

    [packet] = sandbox.control.data_packets("podcast")
    assert packet.payload == b'{"text": "hello"}'
    assert (packet.topic, packet.kind) == ("captions", "RELIABLE")
    assert set(packet.recipients) == {"host", "guest"}
    assert len(packet.nonce) == 16  # the SDK adds one
    assert not packet.duplicate


async def test_it_records_lossy_packets_without_a_topic(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    await lkapi.room.send_data(_send(kind=api.DataPacket.Kind.LOSSY))

    [packet] = sandbox.control.data_packets()
    assert (packet.topic, packet.kind) == (None, "LOSSY")


async def test_it_reaches_only_the_destinations_named(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    guest = next(p for p in sandbox.control.participants("podcast") if p.identity == "guest")

    await lkapi.room.send_data(_send(destination_identities=["host"]))
    await lkapi.room.send_data(_send(destination_sids=[guest.sid]))

    first, second = sandbox.control.data_packets("podcast")
    assert (first.destination_identities, first.recipients) == (("host",), ("host",))
    assert (second.destination_sids, second.recipients) == ((guest.sid,), ("guest",))


def test_it_drops_a_repeated_nonce_and_still_answers_ok(sandbox: RunningSandbox) -> None:
    body = {"room": "podcast", "data": "aGk=", "nonce": "AAAAAAAAAAAAAAAAAAAAAA=="}

    answers = [_raw(sandbox, body, PODCAST_ADMIN), _raw(sandbox, body, PODCAST_ADMIN)]

    assert [a.status_code for a in answers] == [200, 200]
    first, second = sandbox.control.data_packets()
    assert (first.duplicate, second.duplicate) == (False, True)
    assert second.recipients == ()


def test_it_refuses_a_nonce_that_is_not_16_bytes(sandbox: RunningSandbox) -> None:
    body = {"room": "podcast", "data": "aGk=", "nonce": "AAAA"}

    answer = _raw(sandbox, body, PODCAST_ADMIN)

    assert answer.status_code == 400
    assert answer.json() == {
        "code": "invalid_argument",
        "msg": "nonce should be 16-bytes or not present, got: 3 bytes",
    }
    assert sandbox.control.data_packets() == []


async def test_it_refuses_a_room_that_does_not_exist(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    with pytest.raises(api.TwirpError) as caught:
        await lkapi.room.send_data(_send(room="nowhere"))

    assert (caught.value.code, caught.value.status) == ("not_found", 404)
    assert caught.value.message == "requested room does not exist"
    assert sandbox.control.data_packets() == []


@pytest.mark.parametrize(
    "grants",
    [
        {"room_admin": True, "room": "town-hall"},  # admin of another room
        {"room_admin": True},  # of no room
        {"room_list": True, "room_create": True, "room": "podcast"},  # not admin
    ],
)
def test_it_refuses_a_token_without_room_admin_of_the_room(
    sandbox: RunningSandbox, grants: dict[str, Any]
) -> None:
    body = {"room": "podcast", "data": "aGk="}

    answer = _raw(sandbox, body, grants)

    assert (answer.status_code, answer.json()["code"]) == (401, "unauthenticated")
    assert sandbox.control.data_packets() == []


def test_it_shows_the_packets_on_the_control_api(sandbox: RunningSandbox) -> None:
    body = {"room": "podcast", "data": "aGk=", "topic": "t", "kind": "LOSSY"}
    _raw(sandbox, body, PODCAST_ADMIN)

    listed = httpx.get(
        f"{sandbox.url}/sandbox/data",
        headers={"Authorization": f"Bearer {token(sandbox, room_admin=True)}"},
    ).json()

    [packet] = listed["data"]
    assert (packet["room"], packet["text"], packet["topic"]) == ("podcast", "hi", "t")
    assert packet["kind"] == "LOSSY"
    assert sorted(packet["recipients"]) == ["guest", "host"]


def test_it_forgets_the_packets_on_reset(sandbox: RunningSandbox) -> None:
    body = {"room": "podcast", "data": "aGk="}
    _raw(sandbox, body, PODCAST_ADMIN)

    sandbox.control.reset()

    assert sandbox.control.data_packets() == []
