"""LiveKit's webhooks: verify, record in the ledger, apply, answer fast.

Nothing slow happens here: no LiveKit call, one short transaction, and the push to browsers goes
out after it commits (rendered only for pages someone has open). A refused webhook is recorded
with its reason (never its body); one the dashboard cannot store as it is is refused alone
(422), and the others written with it still land.

Under ASGI, `WebhookEndpoint` answers `POST /livekit/webhook` ahead of Django's middleware: a
webhook needs no session, user, CSRF token or htmx, and each of those middlewares costs a hop
between the event loop and a thread. It verifies the signature on the event loop and hands the
event to the process's `Intake`, which writes the webhooks that arrive together in one
transaction (`actions.receive_webhooks`) and answers each once its batch has committed. The
Django view `receive` serves the same path one webhook at a time everywhere else (the test
client, WSGI). Both check a webhook with `checked()`.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from livekit.protocol.webhook import WebhookEvent

from egress_app import actions, metrics
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


def verified(body: bytes, authorization: str | None) -> WebhookEvent:
    """The event, when LiveKit signed it with our key; WebhookVerificationError otherwise."""
    return verify_webhook(
        body,
        authorization,
        api_key=settings.LIVEKIT_API_KEY,
        api_secret=settings.LIVEKIT_API_SECRET,
    )


@dataclass(frozen=True)
class Refusal:
    """Why a webhook is refused: its HTTP status, the reason (the answer's text) and its size."""

    status: int
    reason: str
    size: int


def checked(
    body: bytes | None, authorization: str | None, *, declared: int
) -> WebhookEvent | Refusal:
    """The verified event, or why it is refused; nothing is recorded here. `body` is None when
    it was not read: its declared length is over the limit."""
    size = max(declared, len(body or b""))
    if (reason := too_large(size)) or body is None:  # None: declared over the limit
        return Refusal(413, reason or "", size)
    try:
        return verified(body, authorization)
    except WebhookVerificationError as exc:
        return Refusal(401, exc.reason, len(body))


Answered = tuple[metrics.WebhookOutcome, int, str]  # the outcome, the answer's status and text


def recorded(event: WebhookEvent, answer: actions.Answer, size: int) -> Answered | Refusal:
    """The answer to a verified webhook: recorded, a duplicate ignored, or refused when it
    cannot be stored as it is (422: sending it again would not help)."""
    if isinstance(answer, actions.Unstorable):
        return Refusal(422, answer.reason, size)
    if answer:
        return "recorded", 200, "ok"
    logger.debug("Duplicate LiveKit webhook %s %s ignored", event.event[:40], event.id[:128])
    return "duplicate", 200, "duplicate"


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
    started = time.perf_counter()
    sender = request.META.get("REMOTE_ADDR") or ""
    declared = _declared_size(request.META.get("CONTENT_LENGTH"))
    body = None if too_large(declared) else request.body  # refused before reading it
    outcome = checked(body, request.headers.get("Authorization"), declared=declared)
    if isinstance(outcome, Refusal):
        return _refused(outcome, sender, started)
    try:
        answer = actions.receive_webhook(outcome, size=len(body or b""))
    except Exception:  # Django answers 500
        metrics.webhook_answered("failed", 500, started)
        raise
    if isinstance(answered := recorded(outcome, answer, len(body or b"")), Refusal):
        return _refused(answered, sender, started)
    outcome_name, status, text = answered
    metrics.webhook_answered(outcome_name, status, started)
    return HttpResponse(text, status=status, content_type=TEXT)


def _refused(refusal: Refusal, sender: str, started: float) -> HttpResponse:
    refuse(refusal.reason, sender=sender, size=refusal.size)
    metrics.webhook_answered("refused", refusal.status, started)
    return HttpResponse(refusal.reason, status=refusal.status, content_type=TEXT)


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
        started = time.perf_counter()
        headers = {name.decode("latin-1").lower(): value for name, value in scope["headers"]}
        sender = (scope.get("client") or ("",))[0] or ""
        declared = _declared_size(headers.get("content-length", b"").decode("latin-1"))
        body = None if too_large(declared) else await _read(receive)
        authorization = headers.get("authorization", b"").decode("latin-1") or None
        # Pure computation, a fraction of a millisecond: no thread needed.
        outcome = checked(body, authorization, declared=declared)
        if isinstance(outcome, Refusal):
            await _refuse(send, outcome, sender, started)
            return
        try:
            answer = await _intake().record(outcome, len(body or b""))
        except Exception:  # the server answers 500
            metrics.webhook_answered("failed", 500, started)
            raise
        if isinstance(answered := recorded(outcome, answer, len(body or b"")), Refusal):
            await _refuse(send, answered, sender, started)
            return
        await _respond(send, *answered, started)


async def _refuse(send: Send, refusal: Refusal, sender: str, started: float) -> None:
    recording = partial(refuse, refusal.reason, sender=sender, size=refusal.size)
    await sync_to_async(_as_a_request)(recording)
    await _respond(send, "refused", refusal.status, refusal.reason, started)


Received = actions.Received  # a verified webhook and its body's size


class Intake:
    """The webhooks one server process receives at once, written together: a batch is taken
    once the event loop has gone a few turns without a new one (`_gathered`), and while it is
    being written, those that arrive wait and go in the next one (one thread hop and one
    transaction for all of them). Each request is answered once its batch has committed."""

    def __init__(
        self, write: Callable[[list[Received]], list[actions.Answer]] | None = None
    ) -> None:
        self.write = write or actions.receive_webhooks  # what records a batch (in a thread)
        self.waiting: list[tuple[WebhookEvent, int, asyncio.Future[actions.Answer]]] = []
        self.writer: asyncio.Task[None] | None = None

    async def record(self, event: WebhookEvent, size: int) -> actions.Answer:
        """Whether the webhook was new (False for a duplicate), once it is recorded; Unstorable
        when it was refused (the batch's others still land)."""
        future = asyncio.get_running_loop().create_future()
        self.waiting.append((event, size, future))
        if self.writer is None:
            self.writer = asyncio.create_task(self._write())
        return await future

    async def _write(self) -> None:
        try:
            while self.waiting:
                await _gathered(self.waiting)
                batch = self.waiting[:BATCH]
                del self.waiting[:BATCH]
                work = partial(self.write, [(event, size) for event, size, _ in batch])
                try:
                    answers = await sync_to_async(_as_a_request)(work)
                except Exception as exc:  # the whole batch failed: every request hears of it
                    for *_, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (*_, future), new in zip(batch, answers, strict=True):
                    if not future.done():  # the sender may have hung up
                        future.set_result(new)
        finally:
            self.writer = None


BATCH = 200  # webhooks per transaction at most
# Turns of the event loop in a row that bring no webhook before a batch is written. A batch has a
# fixed cost of about 2.5 ms of CPU here (its transaction, its round trips, its push) against
# about 0.2 ms a webhook; webhooks sent together reach the loop over a few turns (read, then
# verified in the request's task), so a batch that started at the first of them held 9-14 of
# the 24 each worker had in flight under bench/webhooks.py. Waiting for the loop to go quiet took
# ingest from 1,650 to 2,200-2,400 webhooks/s there; a lone webhook waits a few turns, microseconds.
QUIET_TURNS = 4


async def _gathered(waiting: list[Any]) -> None:
    """Return once QUIET_TURNS turns of the event loop in a row added nothing to `waiting` (or
    it holds a full batch): the webhooks already arriving join the batch."""
    quiet, count = 0, len(waiting)
    while quiet < QUIET_TURNS and count < BATCH:
        await asyncio.sleep(0)
        quiet, count = (quiet + 1, count) if len(waiting) == count else (0, len(waiting))


_intakes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Intake] = weakref.WeakKeyDictionary()


def _intake() -> Intake:
    """The event loop's intake (a server process has one loop; tests run several)."""
    loop = asyncio.get_running_loop()
    if (intake := _intakes.get(loop)) is None:
        intake = _intakes[loop] = Intake()
    return intake


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


async def _respond(
    send: Send, outcome: metrics.WebhookOutcome, status: int, text: str, started: float
) -> None:
    metrics.webhook_answered(outcome, status, started)
    body = text.encode()
    headers = [(b"content-type", TEXT.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
