"""The sandbox's HTTP/1.1: each answer in one write, whole before the connection closes."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import httpx
from livekit.protocol import room

from egress_app.sandbox.testing import RunningSandbox
from tests.sandbox.conftest import token


def _request(sandbox: RunningSandbox, *, close: bool) -> bytes:
    body = room.ListRoomsRequest().SerializeToString()
    host = urlsplit(sandbox.url).netloc
    head = (
        f"POST /twirp/livekit.RoomService/ListRooms HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {token(sandbox, room_list=True)}\r\n"
        f"Content-Type: application/protobuf\r\nContent-Length: {len(body)}\r\n"
    )
    return (head + ("Connection: close\r\n" if close else "") + "\r\n").encode() + body


def _read_until_closed(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_it_answers_whole_before_closing_the_connection(sandbox: RunningSandbox) -> None:
    address = urlsplit(sandbox.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(_request(sandbox, close=True))
        answer = _read_until_closed(sock)

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert b"connection: close" in head.lower()
    assert room.ListRoomsResponse.FromString(body).rooms


def test_it_answers_a_malformed_request_with_400_then_closes(sandbox: RunningSandbox) -> None:
    address = urlsplit(sandbox.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        answer = _read_until_closed(sock)

    assert answer.startswith(b"HTTP/1.1 400 Bad Request")
    assert answer.endswith(b"Invalid HTTP request received.")


def test_it_answers_many_calls_on_one_kept_alive_connection(sandbox: RunningSandbox) -> None:
    with httpx.Client(base_url=sandbox.url) as client:
        answers = [
            client.post(
                "/twirp/livekit.RoomService/ListRooms",
                content=room.ListRoomsRequest().SerializeToString(),
                headers={
                    "Authorization": f"Bearer {token(sandbox, room_list=True)}",
                    "Content-Type": "application/protobuf",
                },
            )
            for _ in range(20)
        ]

    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.extensions["network_stream"] for answer in answers}) == 1
