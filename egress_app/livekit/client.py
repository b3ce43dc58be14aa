"""LiveKit's Twirp API (Egress and RoomService) over HTTP (aiohttp, in httpx's terms)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import ssl
import threading
import time
import tomllib
import uuid
import weakref
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from livekit.protocol import egress, models, room
from yarl import URL

from egress_app.livekit import metrics
from egress_app.livekit.errors import (
    LiveKitError,
    LiveKitTimeout,
    LiveKitUnreachable,
    clean_text,
    code_for_status,
    redact_tokens,
)
from egress_app.livekit.tokens import TokenCache
from egress_app.livekit.transport import AiohttpTransport, Answer, client_timeout

logger = logging.getLogger(__name__)


def _version() -> str:
    try:
        return metadata.version("egress-dashboard")
    except metadata.PackageNotFoundError:
        # Run from a checkout rather than an installed package.
        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        try:
            return str(tomllib.loads(pyproject.read_text())["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "dev"


USER_AGENT = f"egress-dashboard/{_version()}"
WIRE_FORMATS = {"protobuf": "application/protobuf", "json": "application/json"}
_MAX_PAGES = 1000
# Enough of an error page to find its gist without scanning megabytes.
_EXCERPT_SOURCE_CHARS = 65536

Response = TypeVar("Response", bound=Message)

RECORD: dict[str, object] = {"roomRecord": True}
START_RPCS = frozenset(
    {
        "StartRoomCompositeEgress",
        "StartWebEgress",
        "StartParticipantEgress",
        "StartTrackCompositeEgress",
        "StartTrackEgress",
        "StartEgress",
    }
)

# Failures that mean the request never got an answer; retrying those is safe for every RPC
# except a Start (which may have reached LiveKit and created an egress).
_CONNECTION_ERRORS = (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError)
# Failures after (part of) the request went out: LiveKit may have acted on it.
_MAYBE_DELIVERED = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


class LiveKitClient:
    """The dashboard's only way to LiveKit. Every method raises LiveKitError on failure."""

    def __init__(
        self,
        url: str,
        api_key: str,
        api_secret: str,
        *,
        wire_format: str = "protobuf",
        timeout: float = 10.0,
        start_timeout: float = 75.0,
    ) -> None:
        if wire_format not in WIRE_FORMATS:
            raise ValueError(f"wire_format must be one of {sorted(WIRE_FORMATS)}")
        self.url = http_url(url)
        self.api_key = api_key  # who the client is, with `url` (the secret stays in `_tokens`)
        self.wire_format = wire_format
        self.timeout = timeout
        self.start_timeout = start_timeout
        self._tokens = TokenCache(api_key, api_secret)
        self._timeouts = {False: client_timeout(timeout), True: client_timeout(start_timeout)}
        self._content_type = WIRE_FORMATS[wire_format]
        self._urls: dict[str, URL] = {}
        # A connection pool belongs to the event loop it first ran on; Django may call us from
        # several loops (ASGI server, async_to_sync, tests), so each loop gets its own.
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pool] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<LiveKitClient {self.url} ({self.wire_format})>"

    # --- Egress ------------------------------------------------------------------------------

    async def start_room_composite_egress(
        self, request: egress.RoomCompositeEgressRequest
    ) -> egress.EgressInfo:
        return await self._start("StartRoomCompositeEgress", request)

    async def start_web_egress(self, request: egress.WebEgressRequest) -> egress.EgressInfo:
        return await self._start("StartWebEgress", request)

    async def start_participant_egress(
        self, request: egress.ParticipantEgressRequest
    ) -> egress.EgressInfo:
        return await self._start("StartParticipantEgress", request)

    async def start_track_composite_egress(
        self, request: egress.TrackCompositeEgressRequest
    ) -> egress.EgressInfo:
        return await self._start("StartTrackCompositeEgress", request)

    async def start_track_egress(self, request: egress.TrackEgressRequest) -> egress.EgressInfo:
        return await self._start("StartTrackEgress", request)

    async def start_egress(self, request: egress.StartEgressRequest) -> egress.EgressInfo:
        return await self._start("StartEgress", request)

    async def start(self, rpc: str, request: Message) -> egress.EgressInfo:
        """Any Start RPC by its Twirp name ("StartRoomCompositeEgress", ... "StartEgress")."""
        if rpc not in START_RPCS:
            raise ValueError(f"{rpc} is not one of LiveKit's Start RPCs")
        return await self._start(rpc, request)

    async def update_layout(self, egress_id: str, layout: str) -> egress.EgressInfo:
        request = egress.UpdateLayoutRequest(egress_id=egress_id, layout=layout)
        return await self._egress("UpdateLayout", request, egress.EgressInfo)

    async def update_stream(
        self,
        egress_id: str,
        *,
        add_output_urls: Sequence[str] = (),
        remove_output_urls: Sequence[str] = (),
    ) -> egress.EgressInfo:
        request = egress.UpdateStreamRequest(
            egress_id=egress_id,
            add_output_urls=list(add_output_urls),
            remove_output_urls=list(remove_output_urls),
        )
        return await self._egress("UpdateStream", request, egress.EgressInfo)

    async def list_egress(
        self, *, room_name: str = "", egress_id: str = "", active: bool = False
    ) -> list[egress.EgressInfo]:
        """Every matching egress, following `next_page_token` until LiveKit has no more."""
        request = egress.ListEgressRequest(room_name=room_name, egress_id=egress_id, active=active)
        items: list[egress.EgressInfo] = []
        seen: set[str] = set()
        for _ in range(_MAX_PAGES):
            page = await self._egress("ListEgress", request, egress.ListEgressResponse)
            items.extend(page.items)
            token = page.next_page_token.token
            if not token or token in seen:
                break
            seen.add(token)
            request.page_token.CopyFrom(models.TokenPagination(token=token))
        return items

    async def stop_egress(self, egress_id: str) -> egress.EgressInfo:
        request = egress.StopEgressRequest(egress_id=egress_id)
        return await self._egress("StopEgress", request, egress.EgressInfo)

    # --- RoomService -------------------------------------------------------------------------

    async def list_rooms(self, names: Sequence[str] = ()) -> list[models.Room]:
        request = room.ListRoomsRequest(names=list(names))
        response = await self._rooms("ListRooms", request, room.ListRoomsResponse, roomList=True)
        return list(response.rooms)

    async def list_participants(self, room_name: str) -> list[models.ParticipantInfo]:
        request = room.ListParticipantsRequest(room=room_name)
        response = await self._rooms(
            "ListParticipants",
            request,
            room.ListParticipantsResponse,
            roomAdmin=True,
            room=room_name,
        )
        return list(response.participants)

    async def mute_published_track(
        self, room_name: str, identity: str, track_sid: str, *, muted: bool
    ) -> models.TrackInfo | None:
        """Mute (or unmute) a participant's published track; the track as it is now, None when
        the participant does not publish it (LiveKit answers without a track, no error).
        Unmuting is refused (failed_precondition) unless the server enables remote unmute."""
        request = room.MuteRoomTrackRequest(
            room=room_name, identity=identity, track_sid=track_sid, muted=muted
        )
        response = await self._rooms(
            "MutePublishedTrack",
            request,
            room.MuteRoomTrackResponse,
            roomAdmin=True,
            room=room_name,
        )
        return response.track if response.HasField("track") else None

    async def remove_participant(self, room_name: str, identity: str) -> None:
        """Disconnect a participant from the room (they may join again with a valid token)."""
        request = room.RoomParticipantIdentity(room=room_name, identity=identity)
        await self._rooms(
            "RemoveParticipant",
            request,
            room.RemoveParticipantResponse,
            roomAdmin=True,
            room=room_name,
        )

    async def send_data(
        self,
        room_name: str,
        data: bytes,
        *,
        topic: str | None = None,
        reliable: bool = True,
        destination_identities: Sequence[str] = (),
    ) -> None:
        """A data packet to the room's participants (those named, or everyone). It carries a
        fresh 16-byte nonce, as LiveKit's SDKs add, so the copy a retry may send is dropped."""
        request = room.SendDataRequest(
            room=room_name,
            data=data,
            kind=models.DataPacket.RELIABLE if reliable else models.DataPacket.LOSSY,
            destination_identities=list(destination_identities),
            nonce=uuid.uuid4().bytes,
        )
        if topic is not None:
            request.topic = topic
        await self._rooms(
            "SendData", request, room.SendDataResponse, roomAdmin=True, room=room_name
        )

    async def create_room(
        self,
        name: str,
        *,
        empty_timeout: int = 0,
        max_participants: int = 0,
        egress: room.RoomEgress | None = None,
    ) -> models.Room:
        """CreateRoom; `egress` is LiveKit's auto egress for the room (its `room` composite
        starts with the room, `participant` and `tracks` as people publish). The request may
        carry storage secrets: never log it. 0 leaves LiveKit's defaults."""
        request = room.CreateRoomRequest(
            name=name, empty_timeout=empty_timeout, max_participants=max_participants
        )
        if egress is not None:
            request.egress.CopyFrom(egress)
        return await self._rooms("CreateRoom", request, models.Room, roomCreate=True)

    async def delete_room(self, name: str) -> None:
        request = room.DeleteRoomRequest(room=name)
        await self._rooms("DeleteRoom", request, room.DeleteRoomResponse, roomCreate=True)

    async def aclose(self) -> None:
        """Close the connection pool of the running event loop (others close with their loop)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            pool = self._pools.pop(loop, None)
        if pool is not None:
            await pool.closer.aclose()

    # --- Transport ---------------------------------------------------------------------------

    async def _start(self, method: str, request: Message) -> egress.EgressInfo:
        return await self._call("Egress", method, request, egress.EgressInfo, RECORD, start=True)

    async def _egress(self, method: str, request: Message, response: type[Response]) -> Response:
        return await self._call("Egress", method, request, response, RECORD)

    async def _rooms(
        self, method: str, request: Message, response: type[Response], **grant: object
    ) -> Response:
        return await self._call("RoomService", method, request, response, grant)

    async def _call(
        self,
        service: str,
        method: str,
        request: Message,
        response: type[Response],
        grant: dict[str, object],
        *,
        start: bool = False,
    ) -> Response:
        started = time.perf_counter()
        try:
            answer = await self._exchange(service, method, request, response, grant, start)
        except LiveKitError as error:
            metrics.livekit_called(method, error.code, started)
            raise
        metrics.livekit_called(method, "ok", started)
        return answer

    async def _exchange(
        self,
        service: str,
        method: str,
        request: Message,
        response: type[Response],
        grant: dict[str, object],
        start: bool,
    ) -> Response:
        timeout = self.start_timeout if start else self.timeout
        try:
            answer = await self._post(f"livekit.{service}/{method}", request, grant, start)
        except httpx.TimeoutException as exc:
            raise self._timeout(method, exc, timeout, start) from None
        except (httpx.TransportError, httpx.InvalidURL) as exc:
            raise self._unreachable(method, exc, start) from None
        return self._decode(method, answer, response)

    async def _post(
        self, path: str, request: Message, grant: dict[str, object], start: bool
    ) -> Answer:
        transport = await self._transport()
        url = self._urls.get(path) or self._url(path)
        body = self._encode(request)
        timeout = self._timeouts[start]
        retries = 0 if start else 1
        while True:
            try:
                # A token carrying exactly the grant this RPC needs, signed recently.
                return await transport.post(url, body, self._headers(grant), timeout)
            except _CONNECTION_ERRORS as exc:
                if not retries:
                    raise
                retries -= 1
                if logger.isEnabledFor(logging.INFO):
                    logger.info("LiveKit %s: %s; retrying once", path, _reason(exc))

    def _url(self, path: str) -> URL:
        try:
            url = URL(f"{self.url}/twirp/{path}")
        except (ValueError, TypeError) as exc:
            raise httpx.InvalidURL(str(exc)) from None
        # Said as httpx said it, before a connection is attempted.
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(
                f"Request URL has an unsupported protocol '{url.scheme}://'."
                if url.scheme
                else "Request URL is missing an 'http://' or 'https://' protocol."
            )
        if not url.host:
            raise httpx.UnsupportedProtocol("Request URL is missing a host.")
        self._urls[path] = url
        return url

    async def _transport(self) -> AiohttpTransport:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is not None:
            return pool.transport
        with self._lock:
            pool = self._pools.get(loop)
            if pool is None:
                self._forget_closed_loops()
                transport = AiohttpTransport()
                pool = self._pools[loop] = _Pool(transport, _close_at_loop_shutdown(transport))
                started = False
            else:
                started = True
        if not started:
            await anext(pool.closer)
        return pool.transport

    def _forget_closed_loops(self) -> None:
        # A pool keeps its loop alive (its sockets reference it), so the weak keys alone never
        # let go: drop the pools of closed loops (already closed at their loop's shutdown).
        for loop in [loop for loop in self._pools if loop.is_closed()]:
            del self._pools[loop]

    def _headers(self, grant: dict[str, object]) -> dict[str, str]:
        token = self._tokens.token(grant)
        return {
            "Authorization": f"Bearer {token}",
            "Content-Type": self._content_type,
            "User-Agent": USER_AGENT,
        }

    def _encode(self, request: Message) -> bytes:
        if self.wire_format == "json":
            return json_format.MessageToJson(request, preserving_proto_field_name=True).encode()
        return request.SerializeToString()

    def _decode(self, method: str, answer: Answer, response: type[Response]) -> Response:
        if answer.status != 200:
            raise self._error(answer)
        try:
            if self.wire_format == "json":
                return json_format.Parse(answer.text, response(), ignore_unknown_fields=True)
            return response.FromString(answer.content)
        except (json_format.ParseError, DecodeError, UnicodeDecodeError):
            message = f"{method}: LiveKit's answer is not a valid {self.wire_format} message"
            raise LiveKitError("internal", message, 200, url=self.url) from None

    def _error(self, answer: Answer) -> LiveKitError:
        status = answer.status
        twirp = _twirp_error(answer)
        if twirp is not None:
            code, message, meta = twirp
            return LiveKitError(code, redact_tokens(message), status, meta, url=self.url)
        meta = {"http_error_from_intermediary": "true", "status_code": str(status)}
        if 400 <= status < 500:
            # LiveKit's auth middleware answers in plain text; keep it whole (but short).
            meta = {}
        message = clean_text(answer.text[:_EXCERPT_SOURCE_CHARS]) or answer.reason
        return LiveKitError(code_for_status(status), message, status, meta, url=self.url)

    def _unreachable(
        self, method: str, exc: httpx.TransportError | httpx.InvalidURL, start: bool
    ) -> LiveKitError:
        reason = _reason(exc)
        if start and isinstance(exc, _MAYBE_DELIVERED):
            reason += "; the egress may still have been created, check the egress list"
        logger.warning("LiveKit %s at %s failed: %s", method, self.url, reason)
        return LiveKitUnreachable(reason, url=self.url)

    def _timeout(
        self, method: str, exc: httpx.TimeoutException, seconds: float, start: bool
    ) -> LiveKitError:
        if isinstance(exc, httpx.ConnectTimeout):
            return self._unreachable(method, exc, start)
        message = f"LiveKit did not answer {method} within {seconds:g} s"
        if isinstance(exc, httpx.PoolTimeout):
            message = f"{method} waited over {seconds:g} s for a free connection to LiveKit"
        elif start:
            message += (
                "; the egress may still have been created, check the egress list before"
                " starting it again"
            )
        logger.warning("%s", message)
        return LiveKitTimeout(message, url=self.url)


@dataclass(frozen=True)
class _Pool:
    transport: AiohttpTransport
    closer: AsyncGenerator[None]


async def _close_at_loop_shutdown(transport: AiohttpTransport) -> AsyncGenerator[None]:
    # Started once and left suspended: the loop tracks it, and asyncio.run, asgiref's
    # async_to_sync and pytest-asyncio all finalise such generators (shutdown_asyncgens) before
    # closing their loop, so the pool's sockets close cleanly with the loop that owns them.
    try:
        yield
    finally:
        await transport.aclose()


def http_url(url: str) -> str:
    """LiveKit's API base URL: ws(s):// becomes http(s)://, like the SDKs do."""
    parts = urlsplit(url.strip())
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def _twirp_error(answer: Answer) -> tuple[str, str, dict[str, str]] | None:
    try:
        body = json.loads(answer.content)
    except ValueError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("code"), str):
        return None
    meta = body.get("meta")
    meta = {str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {}
    return body["code"], str(body.get("msg") or ""), meta


def _reason(exc: httpx.TransportError | httpx.InvalidURL) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return "the connection closed before LiveKit answered"
    cause = _root_cause(exc)
    if isinstance(cause, ssl.SSLCertVerificationError):
        return f"TLS certificate not accepted ({cause.verify_message})"
    if isinstance(cause, ssl.SSLError):
        return f"TLS failed ({cause.reason or cause})"
    if isinstance(cause, socket.gaierror):
        return f"cannot resolve the host name ({str(cause.strerror).lower()})"
    if isinstance(cause, OSError) and cause.errno:
        return os.strerror(cause.errno).lower()
    return clean_text(str(exc) or type(exc).__name__, limit=160)


def _root_cause(exc: BaseException) -> BaseException:
    # httpx wraps httpcore wraps anyio's "All connection attempts failed" wraps the OS error.
    seen = {id(exc)}
    while (inner := exc.__cause__ or exc.__context__) is not None and id(inner) not in seen:
        seen.add(id(inner))
        exc = inner
    return exc
