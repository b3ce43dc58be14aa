"""The JSON API and its personal tokens: shared helpers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from egress_app import actions


def token_for(user: Any, name: str = "ci", days: int = 30) -> str:
    """A new token of `user`, as its owner copies it once."""
    expires = timezone.now() + timedelta(days=days)
    return actions.create_token(user, name=name, expires_at=expires).plaintext


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Api:
    """A client calling the API with a token (no session, no CSRF token)."""

    def __init__(self, token: str | None) -> None:
        self.client = Client(enforce_csrf_checks=True)
        self.headers = bearer(token) if token else {}

    def get(self, path: str, **query: Any) -> Any:
        return self.client.get(f"/api{path}", query, headers=self.headers)

    def post(self, path: str, body: Any = None, **headers: str) -> Any:
        return self.client.post(
            f"/api{path}",
            body if body is not None else {},
            content_type="application/json",
            headers=self.headers | headers,
        )
