"""LiveKit's webhooks: verify, record in the ledger, apply, answer fast.

Nothing slow happens here: no LiveKit call, one short transaction, and the push to browsers goes
out after it commits. A refused webhook is recorded with its reason (never its body).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from egress_app import actions
from egress_app.livekit import WebhookVerificationError, verify_webhook

logger = logging.getLogger(__name__)
TEXT = "text/plain; charset=utf-8"


def _refuse(request: HttpRequest, reason: str, *, size: int, status: int) -> HttpResponse:
    sender = request.META.get("REMOTE_ADDR") or ""
    # Never the token or the body: the reason and who sent it are enough to investigate.
    logger.warning("Refused a LiveKit webhook from %s: %s", sender, reason)
    actions.record_refused(reason, remote_addr=sender, size=size)
    return HttpResponse(reason, status=status, content_type=TEXT)


def _declared_size(request: HttpRequest) -> int:
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


@csrf_exempt
@login_not_required
@require_POST
def receive(request: HttpRequest) -> HttpResponse:
    limit = settings.WEBHOOK_MAX_BYTES
    declared = _declared_size(request)
    if declared > limit:  # refused before reading it
        return _refuse(request, f"body larger than {limit} bytes", size=declared, status=413)
    body = request.body
    if len(body) > limit:
        return _refuse(request, f"body larger than {limit} bytes", size=len(body), status=413)
    try:
        event = verify_webhook(
            body,
            request.headers.get("Authorization"),
            api_key=settings.LIVEKIT_API_KEY,
            api_secret=settings.LIVEKIT_API_SECRET,
        )
    except WebhookVerificationError as exc:
        return _refuse(request, exc.reason, size=len(body), status=401)
    entry = actions.receive_webhook(event, size=len(body))
    if entry is None:
        logger.debug("Duplicate LiveKit webhook %s %s ignored", event.event, event.id)
        return HttpResponse("duplicate", content_type=TEXT)
    return HttpResponse("ok", content_type=TEXT)
