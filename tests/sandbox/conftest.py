"""Fixtures for driving the sandbox: the official SDK, raw Twirp calls, a webhook receiver."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from livekit import api

from egress_app.sandbox.testing import RunningSandbox


@pytest.fixture
async def lkapi(sandbox: RunningSandbox) -> AsyncIterator[api.LiveKitAPI]:
    client = api.LiveKitAPI(sandbox.url, sandbox.api_key, sandbox.api_secret)
    try:
        yield client
    finally:
        await client.aclose()


def token(sandbox: RunningSandbox, **grants: Any) -> str:
    return (
        api.AccessToken(sandbox.api_key, sandbox.api_secret)
        .with_grants(api.VideoGrants(**grants))
        .to_jwt()
    )


def twirp(
    sandbox: RunningSandbox,
    method: str,
    body: dict[str, Any] | bytes,
    *,
    service: str = "livekit.Egress",
    bearer: str | None = None,
    content_type: str = "application/json",
    timeout: float = 5.0,
    **grants: Any,
) -> httpx.Response:
    """A raw Twirp call; by default JSON with a token carrying `grants` (roomRecord if none)."""
    jwt = bearer if bearer is not None else token(sandbox, **(grants or {"room_record": True}))
    headers = {"Content-Type": content_type}
    if jwt:
        headers["Authorization"] = f"Bearer {jwt}"
    url = f"{sandbox.url}/twirp/{service}/{method}"
    if isinstance(body, bytes):
        return httpx.post(url, content=body, headers=headers, timeout=timeout)
    return httpx.post(url, json=body, headers=headers, timeout=timeout)


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


@dataclass
class Received:
    headers: dict[str, str]
    body: str


@dataclass
class WebhookInbox:
    """A loopback HTTP server that records what it receives and answers scripted statuses."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    statuses: deque[int] = field(default_factory=deque)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        headers["x-query"] = scope["query_string"].decode()  # which URL it was sent to
        status = self.statuses.popleft() if self.statuses else 200
        self.received.append(Received(headers, b"".join(chunks).decode()))
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def events(self, sandbox: RunningSandbox) -> list[api.WebhookEvent]:
        receiver = api.WebhookReceiver(api.TokenVerifier(sandbox.api_key, sandbox.api_secret))
        return [receiver.receive(r.body, r.headers["authorization"]) for r in self.received]

    def wait_for(self, count: int, timeout: float = 5.0) -> None:
        eventually(lambda: len(self.received) >= count, timeout)


@pytest.fixture(scope="session")
def webhook_server() -> Iterator[WebhookInbox]:
    inbox = WebhookInbox()
    server = uvicorn.Server(
        uvicorn.Config(inbox, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    eventually(lambda: server.started)
    port = server.servers[0].sockets[0].getsockname()[1]
    inbox.url = f"http://127.0.0.1:{port}/livekit/webhook"
    yield inbox
    server.should_exit = True
    thread.join(5)


@pytest.fixture
def inbox(webhook_server: WebhookInbox, sandbox: RunningSandbox) -> WebhookInbox:
    """The webhook receiver, emptied, and the sandbox's only webhook URL."""
    webhook_server.received.clear()
    webhook_server.statuses.clear()
    sandbox.control.set_webhook_urls([webhook_server.url])
    return webhook_server
