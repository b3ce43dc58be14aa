from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def livekit(request: HttpRequest) -> dict[str, object]:
    return {"livekit_sandbox": settings.LIVEKIT_SANDBOX, "livekit_url": settings.LIVEKIT_URL}
