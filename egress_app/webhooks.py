"""LiveKit's webhooks: verify, record in the ledger, apply, answer fast.

Nothing slow happens here: no LiveKit call, one short transaction, and the push to browsers goes
out after it commits. A refused webhook is recorded with its reason (never its body).

`answer()` is the whole of it. Under ASGI, `WebhookEndpoint` hands `POST /livekit/webhook`
straight to it, ahead of Django's middleware: a webhook needs no session, user, CSRF token or
htmx, and each of those middlewares costs a hop between the event loop and a thread. The Django
view `receive` serves the same path everywhere else (the test client, WSGI).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from egress_app import actions
from egress_app.livekit import WebhookVerificationError, verify_webhook

logger = logging.getLogger(__name__)
PATH = "/livekit/webhook"
TEXT = "text/plain; charset=utf-8"


def too_large(size: int) -> str | None:
    """The refusal of a body of `size` bytes, None when it may be read."""
    limit = settings.WEBHOOK_MAX_BYTES
    return f"body larger than {limit} bytes" if size > limit else None


def refuse(reason: str, *, sender: str, size: int) -> None:
    # Never the token or the body: the reason and who sent it are enough to investigate.
    logger.warning("Refused a LiveKit webhook from %s: %s", sender, reason)
    actions.record_refused(reason, remote_addr=sender, size=size)


def answer(body: bytes, authorization: str | None, *, sender: str) -> tuple[int, str]:
    """The answer to a webhook, as (HTTP status, plain text): 401 with the reason when it is
    refused, 413 when it is too large, otherwise 200 once it is recorded and applied."""
    if reason := too_large(len(body)):
        refuse(reason, sender=sender, size=len(body))
        return 413, reason
    try:
        event = verify_webhook(
            body,
            authorization,
            api_key=settings.LIVEKIT_API_KEY,
            api_secret=settings.LIVEKIT_API_SECRET,
        )
    except WebhookVerificationError as exc:
        refuse(exc.reason, sender=sender, size=len(body))
        return 401, exc.reason
    if actions.receive_webhook(event, size=len(body)) is None:
        logger.debug("Duplicate LiveKit webhook %s %s ignored", event.event, event.id)
        return 200, "duplicate"
    return 200, "ok"


def _declared_size(value: str | None) -> int:
    try:
        return max(int(value or 0), 0)
    except ValueError:
        return 0


# --- the Django view ----------------------------------------------------------------------------
@csrf_exempt
@login_not_required
@require_POST
def receive(request: HttpRequest) -> HttpResponse:
    sender = request.META.get("REMOTE_ADDR") or ""
    declared = _declared_size(request.META.get("CONTENT_LENGTH"))
    if reason := too_large(declared):  # refused before reading it
        refuse(reason, sender=sender, size=declared)
        status, text = 413, reason
    else:
        status, text = answer(request.body, request.headers.get("Authorization"), sender=sender)
    return HttpResponse(text, status=status, content_type=TEXT)


# --- the same, ahead of Django's middleware under ASGI ------------------------------------------
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _as_a_request[T](work: Callable[[], T]) -> T:
    # What Django's request signals do around a request: drop a connection the database closed.
    close_old_connections()
    try:
        return work()
    finally:
        close_old_connections()


class WebhookEndpoint:
    """ASGI middleware: `POST /livekit/webhook` is answered here, anything else goes on to
    `app` (Django)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        webhook = scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == PATH
        if not webhook:
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1").lower(): value for name, value in scope["headers"]}
        sender = (scope.get("client") or ("",))[0] or ""
        declared = _declared_size(headers.get("content-length", b"").decode("latin-1"))
        body = b"" if too_large(declared) else await _read(receive)
        if reason := too_large(max(declared, len(body))):
            size = max(declared, len(body))
            refusal = partial(refuse, reason, sender=sender, size=size)
            await sync_to_async(_as_a_request)(refusal)
            await _respond(send, 413, reason)
            return
        authorization = headers.get("authorization", b"").decode("latin-1") or None
        work = partial(answer, body, authorization, sender=sender)
        status, text = await sync_to_async(_as_a_request)(work)
        await _respond(send, status, text)


async def _read(receive: Receive) -> bytes:
    """The request body, read no further than one byte past the limit."""
    limit, chunks, size = settings.WEBHOOK_MAX_BYTES, [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if size > limit or not message.get("more_body"):
            return b"".join(chunks)


async def _respond(send: Send, status: int, text: str) -> None:
    body = text.encode()
    headers = [(b"content-type", TEXT.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
