from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from livekit.api import AccessToken
from pytest_django.fixtures import Settings

# Only the machine endpoints' URLconf: the webhook route is all these tests need.
pytestmark = [
    pytest.mark.urls("egress_app.urls"),
    pytest.mark.django_db,
]

KEY, SECRET = "devkey", "secret"
BODY = json.dumps({"event": "egress_started", "id": "EV_view", "egressInfo": {"egressId": "EG_v"}})


@pytest.fixture(autouse=True)
def credentials(settings: Settings) -> None:
    settings.LIVEKIT_API_KEY = KEY
    settings.LIVEKIT_API_SECRET = SECRET


def sign(body: str, *, secret: str = SECRET, minutes: float = 5) -> str:
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    token = AccessToken(KEY, secret).with_ttl(timedelta(minutes=minutes))
    return token.with_sha256(digest).to_jwt()


def post(body: str, authorization: str | None) -> HttpResponse:
    # LiveKit posts with enforced CSRF checks off on its side; make Django's client enforce them.
    client = Client(enforce_csrf_checks=True)
    headers = {"Authorization": authorization} if authorization is not None else {}
    return client.post(
        reverse("egress-webhook"),
        data=body,
        content_type="application/webhook+json",
        headers=headers,
    )


def test_it_accepts_a_signed_webhook_from_an_anonymous_caller() -> None:
    response = post(BODY, sign(BODY))

    assert response.status_code == 200
    assert response.content == b"ok"


def test_it_refuses_get() -> None:
    response = Client().get(reverse("egress-webhook"))

    assert response.status_code == 405


# Built lazily: signing at import time would run outside the tests' warning filters.
BAD_CASES: dict[str, Callable[[], tuple[str, str | None]]] = {
    "missing Authorization header": lambda: (BODY, None),
    "body does not match sha256 claim": lambda: (BODY.replace("EG_v", "EG_w"), sign(BODY)),
    "invalid signature": lambda: (BODY, sign(BODY, secret="wrong-secret")),
    "token expired": lambda: (BODY, sign(BODY, minutes=-5)),
    "sha256 claim missing": lambda: (BODY, AccessToken(KEY, SECRET).to_jwt()),
    "malformed event body": lambda: ("not json", sign("not json")),
}


@pytest.mark.parametrize("reason", BAD_CASES)
def test_it_refuses_bad_webhooks_with_the_reason(
    reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    body, authorization = BAD_CASES[reason]()
    with caplog.at_level(logging.WARNING, logger="egress_app.webhooks"):
        response = post(body, authorization)

    assert response.status_code == 401
    assert response.content.decode() == reason
    assert response["Content-Type"].startswith("text/plain")
    [record] = [r for r in caplog.records if r.name == "egress_app.webhooks"]
    assert reason in record.getMessage()
    assert "127.0.0.1" in record.getMessage()
    if authorization:
        assert authorization not in record.getMessage()
    assert body not in record.getMessage()


def test_it_logs_a_duplicate_at_debug_level(caplog: pytest.LogCaptureFixture) -> None:
    post(BODY, sign(BODY))
    with caplog.at_level(logging.DEBUG, logger="egress_app.webhooks"):
        response = post(BODY, sign(BODY))

    assert response.content == b"duplicate"
    assert "Duplicate LiveKit webhook egress_started EV_view ignored" in caplog.text
