"""Sign-ins: each one logged in a line (never a password) and counted for `/metrics`, and the
page a locked-out visitor sees.

django-axes counts the failures and keeps the lock (settings: LOGIN_FAILURE_LIMIT,
LOGIN_LOCKOUT_MINUTES); this module only reports on it. The receivers are connected when the
dashboard app is ready.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from axes.helpers import get_cool_off
from axes.signals import user_locked_out
from django.contrib.auth import user_logged_in, user_login_failed
from django.contrib.auth.forms import AuthenticationForm
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from prometheus_client import Counter

logger = logging.getLogger(__name__)

SIGNINS = Counter(
    "egress_dashboard_signins",
    "Sign-ins by outcome: success, failure (wrong password or locked out), locked (a lockout).",
    ["outcome"],
)
LOCKED_STATUS = 429


@receiver(user_logged_in)
def _signed_in(sender: object, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    logger.info("Sign-in of %r from %s", user.get_username(), _address(request))
    SIGNINS.labels("success").inc()


@receiver(user_login_failed)
def _failed(
    sender: object, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    logger.warning(
        "Failed sign-in for %r from %s", credentials.get("username", ""), _address(request)
    )
    SIGNINS.labels("failure").inc()


@receiver(user_locked_out)
def _locked_out(
    sender: object, request: HttpRequest | None, username: str | None, **kwargs: Any
) -> None:
    logger.warning("Sign-in refused, locked out: %r from %s", username or "", _address(request))
    SIGNINS.labels("locked").inc()


def locked_out(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    """The sign-in page again, saying why and for how long (AXES_LOCKOUT_CALLABLE).

    Axes passes (request, response, credentials) from sync middleware and (request,
    credentials) from async: neither is needed here.
    """
    cool_off = get_cool_off(request)
    minutes = math.ceil(cool_off.total_seconds() / 60) if cool_off else None
    context = {"form": AuthenticationForm(request), "locked_minutes": minutes}
    response = TemplateResponse(request, "registration/login.html", context, status=LOCKED_STATUS)
    if cool_off:
        response["Retry-After"] = str(math.ceil(cool_off.total_seconds()))
    return response.render()


def _address(request: HttpRequest | None) -> str:
    return (request.META.get("REMOTE_ADDR") if request is not None else None) or "unknown"
