"""Stand-ins for what cannot run here: a reverse proxy and a LiveKit that never answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _serve(handler: Handler, done: asyncio.Event | None = None) -> AsyncIterator[str]:
    writers: list[asyncio.StreamWriter] = []

    async def track(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await handler(reader, writer)

    server = await asyncio.start_server(track, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        if done is not None:
            done.set()
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


async def _read_request(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)


BAD_GATEWAY_PAGE = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.27.0</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


@pytest.fixture
async def proxy_502_url() -> AsyncIterator[str]:
    """A loopback stand-in for a reverse proxy (nginx) whose LiveKit upstream is down.

    A real proxy cannot run in the test environment; this answers every request like nginx does.
    """

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(
            b"HTTP/1.1 502 Bad Gateway\r\nServer: nginx/1.27.0\r\nContent-Type: text/html\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n"
            % len(BAD_GATEWAY_PAGE)
            + BAD_GATEWAY_PAGE
        )
        await writer.drain()
        writer.close()

    async for url in _serve(handle):
        yield url


@pytest.fixture
async def silent_url() -> AsyncIterator[str]:
    """A server that accepts the request and never answers."""

    done = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await done.wait()
        writer.close()

    async for url in _serve(handle, done):
        yield url


class Recorded:
    """What a recording server saw: one (path, headers, body) per request, and connections."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.connections = 0


async def _read_full_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    request_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return request_line.split(" ")[1], headers, body


@pytest.fixture
async def recording_server() -> AsyncIterator[tuple[str, Recorded]]:
    """Answers every Twirp call with an empty message (in the request's format) and records it."""
    recorded = Recorded()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        recorded.connections += 1
        while not reader.at_eof():
            try:
                path, headers, body = await _read_full_request(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            recorded.requests.append((path, headers, body))
            content_type = headers.get("content-type", "application/protobuf")
            answer = b"{}" if content_type == "application/json" else b""
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
                % (content_type.encode(), len(answer))
                + answer
            )
            await writer.drain()
        writer.close()

    async for url in _serve(handle):
        yield url, recorded


@pytest.fixture
async def dropping_server() -> AsyncIterator[tuple[str, Recorded]]:
    """Reads each request and hangs up without answering (a crashed or restarting upstream)."""
    recorded = Recorded()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        recorded.connections += 1
        recorded.requests.append(await _read_full_request(reader))
        writer.close()

    async for url in _serve(handle):
        yield url, recorded


@pytest.fixture
async def webhook_receiver() -> AsyncIterator[tuple[str, Recorded]]:
    """Records what is posted to it and answers 200, standing in for the dashboard's endpoint."""
    recorded = Recorded()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        recorded.connections += 1
        while not reader.at_eof():
            try:
                recorded.requests.append(await _read_full_request(reader))
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
        writer.close()

    async for url in _serve(handle):
        yield f"{url}/livekit/webhook", recorded
