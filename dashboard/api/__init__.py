"""The JSON API for scripts and CI, on django-ninja: personal tokens as bearer tokens, the
pages' rules (roles, control of running jobs, the launch form's validation), an OpenAPI schema
at /api/openapi.json and its docs at /api/docs. Each module is one noun: jobs, launch, rooms."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, URLResolver
from ninja import NinjaAPI

from dashboard.api import errors, jobs, launch, rooms  # noqa: F401  # launch: on jobs.router
from dashboard.api.auth import TokenAuth, TokenRateThrottle

api = NinjaAPI(
    title="Egress Dashboard API",
    version="1",
    description="Start, stop and follow LiveKit egress from scripts and CI. Authenticate with "
    "`Authorization: Bearer <token>` (a personal token from the dashboard's Tokens page).",
    auth=TokenAuth(),
    throttle=[TokenRateThrottle()],
    urls_namespace="api",
)
errors.install(api)
api.add_router("", jobs.router)
api.add_router("", rooms.router)


def urls() -> tuple[list[URLResolver | URLPattern], str, str]:
    """The API's URLs, open to requests without a session: the token is checked instead
    (Django's LoginRequiredMiddleware would send them to the sign-in page)."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        _open(pattern)
    return patterns, app_name, namespace


def _open(pattern: Any) -> None:
    if isinstance(pattern, URLResolver):
        for inner in pattern.url_patterns:
            _open(inner)
    else:
        pattern.callback.login_required = False
