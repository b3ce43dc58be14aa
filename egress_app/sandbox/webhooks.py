"""Signed webhook delivery the way LiveKit's notifier does it.

One FIFO queue per (URL, resource key), drained one event at a time, retried on connection errors,
429 and 5xx (not 501) with doubling backoff, dropped after the last retry.

Request webhooks (the `webhooks` of a Start request) get an egress's events besides the project's
URLs, as livekit/protocol webhook/notifier.go `DefaultNotifier.QueueNotify` sends them: the same
event (one id: livekit/livekit pkg/telemetry/events.go `NotifyEvent` sets it once, then
`NotifyEgressEvent` passes egress/notify_options.go's extra webhooks along), each signed by the
API key its `signing_key` names (empty: the server's webhook key) with that key's secret
(webhook/resource_url_notifier.go `QueueNotify`); a key the server does not know stops the
remaining request webhooks ("no secret for provided signing key").
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
from dataclasses import dataclass

import httpx
import jwt
from google.protobuf import json_format
from livekit.protocol import webhook

from egress_app.sandbox.config import SandboxConfig
from egress_app.sandbox.ids import new_id

logger = logging.getLogger("egress_app.sandbox.webhooks")

CONTENT_TYPE = "application/webhook+json"
TOKEN_TTL_SECONDS = 5 * 60
MAX_BACKOFF_FACTOR = 30.0


@dataclass(frozen=True)
class WebhookDelivery:
    """What happened to one event sent to one URL (recorded once it is delivered or dropped)."""

    url: str
    event: str
    event_id: str
    egress_id: str
    status_code: int | None
    attempts: int
    delivered: bool
    error: str = ""


@dataclass(frozen=True)
class _Outgoing:
    url: str
    body: str
    token: str
    event: webhook.WebhookEvent


def event_key(event: webhook.WebhookEvent) -> str:
    if event.HasField("egress_info") and event.egress_info.egress_id:
        return event.egress_info.egress_id
    if event.HasField("room") and event.room.name:
        return event.room.name
    if event.HasField("participant"):
        return event.participant.identity
    if event.HasField("track"):
        return event.track.sid
    return "default"


def sign(body: str, api_key: str, api_secret: str) -> str:
    now = int(time.time())
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    claims = {"iss": api_key, "nbf": now, "exp": now + TOKEN_TTL_SECONDS, "sha256": digest}
    return jwt.encode(claims, api_secret, algorithm="HS256")


def encode(event: webhook.WebhookEvent) -> str:
    # protojson defaults: lowerCamelCase keys, zero values omitted, compact.
    return json_format.MessageToJson(event, indent=None)


def _retryable(status_code: int) -> bool:
    return status_code == 429 or (status_code >= 500 and status_code != 501)


class WebhookSender:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.urls: list[str] = list(config.webhook_urls)
        self.deliveries: list[WebhookDelivery] = []
        self._queues: dict[tuple[str, str], asyncio.Queue[_Outgoing]] = {}
        self._workers: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None

    def has_recipients(self, extra: list[tuple[str, str]] | tuple[()] = ()) -> bool:
        """Whether `notify` with these `extra` recipients would queue anything."""
        return bool(self.urls or extra)

    def notify(
        self, name: str, event: webhook.WebhookEvent, extra: list[tuple[str, str]] | tuple[()] = ()
    ) -> None:
        """Queue `event` for every configured URL plus `extra` (url, signing key) pairs."""
        if not self.has_recipients(extra):
            return
        event.event = name
        event.id = new_id("EV_")
        event.created_at = int(time.time())
        body = encode(event)
        for url in self.urls:
            self._enqueue(_Outgoing(url, body, self._token(body, ""), event))
        for url, signing_key in extra:
            if not (token := self._token(body, signing_key)):
                self._record(url, event, None, 0, "no secret for provided signing key")
                return  # LiveKit's QueueNotify returns here: no later request webhook is sent
            self._enqueue(_Outgoing(url, body, token, event))

    def _token(self, body: str, signing_key: str) -> str:
        """The Authorization of `body` signed by `signing_key` (empty: the server's own key);
        "" when the server does not know that key."""
        key = signing_key or self.config.api_key
        secret = self.config.secret_for(key)
        return sign(body, key, secret) if secret else ""

    def _enqueue(self, outgoing: _Outgoing) -> None:
        key = (outgoing.url, event_key(outgoing.event))
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = asyncio.Queue()
            worker = asyncio.get_running_loop().create_task(self._drain(key, queue))
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)
        queue.put_nowait(outgoing)

    async def _drain(self, key: tuple[str, str], queue: asyncio.Queue[_Outgoing]) -> None:
        try:
            while not queue.empty():
                await self._send(queue.get_nowait())
        finally:
            if self._queues.get(key) is queue:
                del self._queues[key]

    async def _send(self, outgoing: _Outgoing) -> None:
        headers = {
            "Content-Type": CONTENT_TYPE,
            "User-Agent": "LiveKit",
            "Authorization": outgoing.token,
        }
        attempts, status, error = 0, None, ""
        backoff = self.config.pacing.webhook_backoff
        while attempts <= self.config.webhook_retries:
            if attempts:
                await asyncio.sleep(
                    min(backoff * 2 ** (attempts - 1), backoff * MAX_BACKOFF_FACTOR)
                )
            attempts += 1
            try:
                response = await self._http().post(
                    outgoing.url, content=outgoing.body.encode(), headers=headers
                )
            except httpx.HTTPError as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"
                continue
            status, error = response.status_code, ""
            if response.is_success:
                self._record(outgoing.url, outgoing.event, status, attempts)
                return
            error = f"HTTP {status}"
            if not _retryable(status):
                break
        logger.warning(
            "webhook %s to %s dropped after %d attempts: %s",
            outgoing.event.event,
            outgoing.url,
            attempts,
            error,
        )
        self._record(outgoing.url, outgoing.event, status, attempts, error)

    def _record(
        self,
        url: str,
        event: webhook.WebhookEvent,
        status: int | None,
        attempts: int,
        error: str = "",
    ) -> None:
        self.deliveries.append(
            WebhookDelivery(
                url=url,
                event=event.event,
                event_id=event.id,
                egress_id=event.egress_info.egress_id,
                status_code=status,
                attempts=attempts,
                delivered=not error,
                error=error,
            )
        )

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.config.webhook_timeout)
        return self._client

    async def reset(self, urls: list[str]) -> None:
        await self.close()
        self.urls = list(urls)
        self.deliveries = []

    async def close(self) -> None:
        workers = list(self._workers)
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self._queues.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
