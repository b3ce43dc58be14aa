from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

URL = reverse("egress-healthz")


def test_it_reports_every_check_ok_against_the_sandbox(client, sandbox):
    response = client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "channel_layer", "livekit"}
    for check in body["checks"].values():
        assert check["ok"] is True
        assert isinstance(check["ms"], float)


def test_it_answers_anonymous_callers(client, sandbox):
    response = client.get(URL)
    assert response.status_code == 200
    assert "login" not in response.get("Location", "")


def test_it_fails_with_503_when_livekit_is_unreachable(client, sandbox, settings, closed_port_url):
    settings.LIVEKIT_URL = closed_port_url
    response = client.get(URL)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["livekit"]["ok"] is False
    assert body["checks"]["livekit"]["error"].startswith("unavailable:")
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["channel_layer"]["ok"] is True


def test_it_never_shows_the_livekit_credentials(client, sandbox, settings):
    settings.LIVEKIT_API_KEY = "APIpublicKeyXYZ"
    settings.LIVEKIT_API_SECRET = "super-secret-value-123"
    response = client.get(URL)
    assert response.status_code == 503
    assert response.json()["checks"]["livekit"]["error"].startswith("unauthenticated:")
    assert b"APIpublicKeyXYZ" not in response.content
    assert b"super-secret-value-123" not in response.content


def test_it_is_never_cached(client, sandbox):
    assert "no-cache" in client.get(URL)["Cache-Control"]


def test_it_only_answers_get(client, sandbox):
    assert client.post(URL).status_code == 405
