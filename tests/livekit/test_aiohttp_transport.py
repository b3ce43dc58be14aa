"""The aiohttp transport's failures in httpx's terms, against loopback servers that misbehave.

The client decides from the httpx type whether a call may be retried (nothing was sent, or no
answer came) and whether a failed Start may have created an egress; these tests hold the
transport to that through the client, with real sockets.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import httpx
import pytest
from livekit.protocol import egress
from yarl import URL

from egress_app.livekit import LiveKitClient, LiveKitTimeout, LiveKitUnreachable
from egress_app.livekit.client import _CONNECTION_ERRORS, _MAYBE_DELIVERED
from egress_app.livekit.transport import AiohttpTransport, client_timeout, httpx_error
from tests.livekit.conftest import Recorded, _read_full_request, _serve

KEY, SECRET = "devkey", "secret"
TRACK = egress.TrackEgressRequest(room_name="r", track_id="TR_1")

Reply = Callable[[asyncio.StreamWriter], Awaitable[None]]


async def _misbehaving(reply: Reply) -> AsyncIterator[tuple[str, Recorded]]:
    recorded = Recorded()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        recorded.connections += 1
        recorded.requests.append(await _read_full_request(reader))
        await reply(writer)

    async for url in _serve(handle):
        yield url, recorded


async def _cut_body(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
    await writer.drain()
    writer.close()


async def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _not_http(writer: asyncio.StreamWriter) -> None:
    writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
    await writer.drain()
    writer.close()


async def _silence(writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(5)


@pytest.fixture(params=[_cut_body, _reset, _not_http], ids=["cut-body", "reset", "not-http"])
async def misbehaving_server(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[str, Recorded]]:
    """Reads the request, then: answers 200 with a tenth of the promised body and hangs up;
    or resets the connection (RST), like a crashed upstream; or answers something that is not
    HTTP (a wrong port)."""
    async for served in _misbehaving(request.param):
        yield served


@pytest.fixture
async def silent_server() -> AsyncIterator[tuple[str, Recorded]]:
    """Reads the request and never answers."""
    async for served in _misbehaving(_silence):
        yield served


async def test_it_retries_an_ordinary_call_once_when_no_whole_answer_came(
    misbehaving_server: tuple[str, Recorded],
) -> None:
    url, recorded = misbehaving_server
    client = LiveKitClient(url, KEY, SECRET)

    with pytest.raises(LiveKitUnreachable) as caught:
        await client.list_rooms()

    assert len(recorded.requests) == 2
    assert "may still" not in caught.value.message
    await client.aclose()


async def test_it_never_retries_a_start_that_may_have_arrived(
    misbehaving_server: tuple[str, Recorded],
) -> None:
    url, recorded = misbehaving_server
    client = LiveKitClient(url, KEY, SECRET)

    with pytest.raises(LiveKitUnreachable) as caught:
        await client.start_track_egress(TRACK)

    assert len(recorded.requests) == 1
    assert "the egress may still have been created" in caught.value.message
    await client.aclose()


async def test_it_times_out_without_retrying(silent_server: tuple[str, Recorded]) -> None:
    url, recorded = silent_server
    client = LiveKitClient(url, KEY, SECRET, timeout=0.2)

    with pytest.raises(LiveKitTimeout) as caught:
        await client.list_participants("studio")

    assert len(recorded.requests) == 1
    assert caught.value.message == "LiveKit did not answer ListParticipants within 0.2 s"
    await client.aclose()


async def test_it_times_out_a_start_on_an_endpoint_that_never_reads(
    hanging_endpoint: str,
) -> None:
    client = LiveKitClient(hanging_endpoint, KEY, SECRET, start_timeout=0.2)

    with pytest.raises(LiveKitTimeout) as caught:
        await client.start_track_egress(TRACK)

    assert "the egress may still have been created" in caught.value.message
    await client.aclose()


async def test_it_says_a_refused_connection_was_never_sent(closed_port_url: str) -> None:
    transport = AiohttpTransport()
    url = f"{closed_port_url}/twirp/livekit.Egress/StartEgress"

    with pytest.raises(httpx.ConnectError) as caught:
        await transport.post(URL(url), b"", {}, client_timeout(1))

    assert not isinstance(caught.value, _MAYBE_DELIVERED)
    await transport.aclose()


@pytest.mark.parametrize(
    ("failure", "expected", "retried", "maybe_delivered"),
    [
        (aiohttp.ConnectionTimeoutError("connect"), httpx.ConnectTimeout, False, False),
        (aiohttp.SocketTimeoutError("read"), httpx.ReadTimeout, False, False),
        (TimeoutError(), httpx.ReadTimeout, False, False),
        (aiohttp.ServerDisconnectedError(), httpx.RemoteProtocolError, True, True),
        (aiohttp.ClientPayloadError("cut"), httpx.ReadError, True, True),
        (aiohttp.ClientOSError(104, "reset"), httpx.ReadError, True, True),
        (aiohttp.ClientConnectionResetError("closing"), httpx.WriteError, False, True),
        (aiohttp.ClientError("something new"), httpx.WriteError, False, True),
        (aiohttp.InvalidURL("http://[::1"), httpx.InvalidURL, False, False),
    ],
)
def test_it_names_aiohttps_failures_as_httpx_does(
    failure: Exception, expected: type[Exception], retried: bool, maybe_delivered: bool
) -> None:
    error = httpx_error(failure)

    assert type(error) is expected
    assert isinstance(error, _CONNECTION_ERRORS) is retried
    assert isinstance(error, _MAYBE_DELIVERED) is maybe_delivered


async def test_it_serves_as_an_httpx_transport(recording_server: tuple[str, Recorded]) -> None:
    url, recorded = recording_server
    async with httpx.AsyncClient(transport=AiohttpTransport(), timeout=2) as http:
        answer = await http.post(f"{url}/twirp/livekit.Egress/ListEgress", content=b"")
        with pytest.raises(httpx.UnsupportedProtocol):
            await http.get(url)

    assert answer.status_code == 200
    assert answer.reason_phrase == "OK"
    assert [path for path, _, _ in recorded.requests] == ["/twirp/livekit.Egress/ListEgress"]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("lk.example.com", "Request URL is missing an 'http://' or 'https://' protocol."),
        ("ftp://lk.example.com", "Request URL has an unsupported protocol 'ftp://'."),
        ("http://", "Request URL is missing a host."),
    ],
)
async def test_it_explains_a_url_it_cannot_call(url: str, reason: str) -> None:
    client = LiveKitClient(url, KEY, SECRET)

    with pytest.raises(LiveKitUnreachable) as caught:
        await client.list_rooms()

    assert caught.value.message == reason
    await client.aclose()
