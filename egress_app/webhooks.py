"""LiveKit's webhooks: verify the signature, then answer fast."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from egress_app.livekit import WebhookVerificationError, verify_webhook

logger = logging.getLogger(__name__)


@csrf_exempt
@login_not_required
@require_POST
def receive(request: HttpRequest) -> HttpResponse:
    try:
        event = verify_webhook(
            request.body,
            request.headers.get("Authorization"),
            api_key=settings.LIVEKIT_API_KEY,
            api_secret=settings.LIVEKIT_API_SECRET,
        )
    except WebhookVerificationError as exc:
        # Never the token or the body: the reason and who sent it are enough to investigate.
        logger.warning(
            "Refused a LiveKit webhook from %s: %s", request.META.get("REMOTE_ADDR"), exc.reason
        )
        return HttpResponse(exc.reason, status=401, content_type="text/plain; charset=utf-8")
    logger.debug("LiveKit webhook %s %s", event.event, event.id)
    # The ledger (issue 5) records the event here and hands it to an action.
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")
