"""The one seam to LiveKit: Twirp calls, access tokens and webhook verification.

Nothing else in the project speaks to LiveKit, signs its tokens or checks its signatures.
"""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings

from egress_app.livekit.client import LiveKitClient
from egress_app.livekit.errors import LiveKitError, LiveKitTimeout, LiveKitUnreachable
from egress_app.livekit.tokens import create_access_token
from egress_app.livekit.webhooks import WebhookVerificationError, verify_webhook

__all__ = [
    "LiveKitClient",
    "LiveKitError",
    "LiveKitTimeout",
    "LiveKitUnreachable",
    "WebhookVerificationError",
    "create_access_token",
    "get_livekit_client",
    "verify_webhook",
]


def get_livekit_client() -> LiveKitClient:
    """The client for the current settings (a new one whenever a LIVEKIT_* setting changes)."""
    return _client_for(
        settings.LIVEKIT_URL,
        settings.LIVEKIT_API_KEY,
        settings.LIVEKIT_API_SECRET,
        settings.LIVEKIT_WIRE_FORMAT,
        float(settings.LIVEKIT_TIMEOUT),
        float(settings.LIVEKIT_START_TIMEOUT),
    )


@lru_cache(maxsize=8)
def _client_for(
    url: str, key: str, secret: str, wire_format: str, timeout: float, start_timeout: float
) -> LiveKitClient:
    return LiveKitClient(
        url, key, secret, wire_format=wire_format, timeout=timeout, start_timeout=start_timeout
    )
