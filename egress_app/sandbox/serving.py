"""uvicorn's HTTP/1.1, with each response leaving in one write as LiveKit's do.

uvicorn writes a response's status line and headers as soon as the app sends them, then the
body: two TCP segments for every Twirp answer, so the client wakes and parses twice (and, with
Nagle's algorithm on, waits ~40 ms for the second). LiveKit serves Twirp with Go's net/http,
which buffers a handler's headers and body and writes a small answer once. Here the writes
of one turn of the event loop are joined and go out together at the next turn.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _JoinedWrites(asyncio.Transport):
    """A transport whose writes are held until the event loop's next turn, then sent as one."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._held:
            self._loop.call_soon(self._flush)
        self._held.append(bytes(data))

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._held.clear()
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._held))

    def _flush(self) -> None:
        if not self._held:
            return
        data = b"".join(self._held)
        self._held.clear()
        if not self._transport.is_closing():
            self._transport.write(data)


class OneWriteHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol (`http=` of uvicorn.Config) writing through _JoinedWrites."""

    # uvicorn narrows BaseProtocol's BaseTransport to Transport the same way.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # Each request's cycle takes the protocol's transport when it starts: wrap it first.
        self.transport = _JoinedWrites(transport, self.loop)
