from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from egress_app.roles import user_role


def livekit(request: HttpRequest) -> dict[str, object]:
    return {"livekit_sandbox": settings.LIVEKIT_SANDBOX, "livekit_url": settings.LIVEKIT_URL}


def role(request: HttpRequest) -> dict[str, object]:
    # Lazy: only pages that show the header read it (htmx fragments rendered by async views
    # never do, and could not query the database there).
    return {"role": SimpleLazyObject(lambda: user_role(request.user))}
