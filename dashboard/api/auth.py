"""Who calls the API: a personal token as `Authorization: Bearer <token>`, never a session
(so no CSRF either), and how often each token may call (API_RATE_LIMIT)."""

from __future__ import annotations

from typing import Any

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.http import HttpRequest
from ninja.security import HttpBearer
from ninja.throttling import SimpleRateThrottle

from egress_app import actions
from egress_app.models import ApiToken


class TokenAuth(HttpBearer):
    """The usable token the request presents; the request then acts as its user."""

    openapi_description = "A personal API token from the Tokens page: `egd_…`."

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = actions.find_token(token.strip())
        if found is None:
            return None
        # The client's address as the project reads it everywhere (django-axes: REMOTE_ADDR,
        # the visitor's behind a proxy when uvicorn runs with --proxy-headers).
        actions.record_use(found, get_client_ip_address(request) or "unknown")
        request.user = found.user
        return found


class TokenRateThrottle(SimpleRateThrottle):
    """API_RATE_LIMIT calls per token (django-ninja's throttling, in Django's cache); a call
    with no usable token is refused before it counts."""

    scope = "api-token"

    def __init__(self) -> None:
        super().__init__(settings.API_RATE_LIMIT)

    def allow_request(self, request: HttpRequest) -> bool:
        # The setting as it is now (tests and a changed environment), not as it was at import.
        self.rate = settings.API_RATE_LIMIT
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request)

    def get_cache_key(self, request: HttpRequest) -> str | None:
        token: Any = getattr(request, "auth", None)
        if not isinstance(token, ApiToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": token.pk}


def token_of(request: HttpRequest) -> ApiToken:
    token: Any = getattr(request, "auth", None)
    assert isinstance(token, ApiToken)  # every operation requires TokenAuth
    return token


def via(request: HttpRequest) -> str:
    """What the audit log records of how the action was asked for."""
    return f"API token {token_of(request).name}"
