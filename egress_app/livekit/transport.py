"""HTTP/1.1 to LiveKit over aiohttp, failing with httpx's exception types.

httpx stays the client's vocabulary (its exceptions say what failed and whether the request may
have reached LiveKit; `httpx.AsyncClient(transport=AiohttpTransport())` works too), but the
LiveKit client posts through `AiohttpTransport.post` directly: httpx's own client and httpcore
cost about twice the CPU of a whole call by LiveKit's Python SDK, which uses aiohttp.
"""

from __future__ import annotations

import urllib.request
from typing import NamedTuple

import aiohttp
import httpx
from yarl import URL

# Seconds an idle connection is kept, as httpx kept it: LiveKit (or a proxy) may close it first.
KEEPALIVE = 5.0
MAX_CONNECTIONS = 100

# aiohttp's failures as httpx names them, most specific first. What matters is the split the
# client relies on: ConnectError and ConnectTimeout mean nothing was sent; ReadError and
# RemoteProtocolError mean the request went out and no answer came; WriteError, that it may
# have gone out in part. A failure we cannot place counts as WriteError: not retried, and
# after a Start the egress may exist.
_ERRORS: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),  # SocketTimeoutError: no answer in time
    (aiohttp.ClientConnectorError, httpx.ConnectError),  # refused, DNS, TLS, certificate
    (aiohttp.ServerFingerprintMismatch, httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),  # not HTTP, or malformed
    (aiohttp.ClientPayloadError, httpx.ReadError),  # the body was cut short
    (aiohttp.ClientConnectionResetError, httpx.WriteError),  # closed while we were writing
    (aiohttp.ClientOSError, httpx.ReadError),  # reset while waiting for the answer
    (aiohttp.NonHttpUrlClientError, httpx.UnsupportedProtocol),
    (TimeoutError, httpx.ReadTimeout),
)


class Answer(NamedTuple):
    """An HTTP answer, read whole."""

    status: int
    reason: str
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp connection pool, for the event loop that first uses it.

    As httpx does by default: certificates from certifi (or SSL_CERT_FILE), a proxy from
    HTTP(S)_PROXY and NO_PROXY (read once per host).
    """

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str], str | None] = {}
        self.is_closed = False

    async def post(
        self, url: URL, body: bytes, headers: dict[str, str], limits: aiohttp.ClientTimeout
    ) -> Answer:
        """POST `body` to `url` and read the answer; httpx's TransportError subclasses on
        failure."""
        session = self._session or self._open()
        try:
            async with session.post(
                url, data=body, headers=headers, timeout=limits, proxy=self._proxy(url)
            ) as response:
                content = await response.read()
                return Answer(response.status, response.reason or "", content)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise httpx_error(exc) from exc

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST":
            raise httpx.UnsupportedProtocol("this transport only posts")
        timeouts = request.extensions.get("timeout", {})
        seconds = timeouts.get("read") or timeouts.get("connect")
        answer = await self.post(
            URL(str(request.url), encoded=True),
            await request.aread(),
            dict(request.headers),
            client_timeout(seconds),
        )
        return httpx.Response(
            answer.status,
            content=answer.content,
            request=request,
            extensions={"reason_phrase": answer.reason.encode()},
        )

    async def aclose(self) -> None:
        self.is_closed = True
        if self._session is not None:
            await self._session.close()

    def _open(self) -> aiohttp.ClientSession:
        if self.is_closed:
            raise RuntimeError("the transport is closed")
        connector = aiohttp.TCPConnector(
            limit=MAX_CONNECTIONS, keepalive_timeout=KEEPALIVE, ssl=httpx.create_ssl_context()
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            # Our headers are all the request needs; no cookies kept between calls.
            skip_auto_headers=("Accept", "Accept-Encoding"),
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        return self._session

    def _proxy(self, url: URL) -> str | None:
        key = (url.scheme, url.host or "")
        if key not in self._proxies:
            self._proxies[key] = _env_proxy(url)
        return self._proxies[key]


def client_timeout(seconds: float | None) -> aiohttp.ClientTimeout:
    """httpx's per-step timeout in aiohttp's terms: connect (including the wait for a pooled
    connection) and each read; no limit on the whole."""
    return aiohttp.ClientTimeout(total=None, connect=seconds, sock_read=seconds)


def _env_proxy(url: URL) -> str | None:
    if url.host and urllib.request.proxy_bypass(url.host):
        return None
    return urllib.request.getproxies().get(url.scheme)


def httpx_error(exc: Exception) -> httpx.TransportError | httpx.InvalidURL:
    """What httpx would have raised for aiohttp's (or yarl's) `exc`."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, ValueError):  # aiohttp.InvalidURL, or yarl refusing the URL
        return httpx.InvalidURL(message)
    kind = next((to for cls, to in _ERRORS if isinstance(exc, cls)), httpx.WriteError)
    return kind(message)
