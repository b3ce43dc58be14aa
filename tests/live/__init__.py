"""LiveKit's webhooks end to end: real-shaped bodies, signed, posted to the dashboard's endpoint.

`fixtures/<event>__<variant>.json` hold events as LiveKit sends them (protojson: lowerCamelCase
keys, int64 values as strings, zero values omitted).
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from livekit.api import AccessToken

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

FIXTURES = Path(__file__).parent / "fixtures"
KEY, SECRET = "devkey", "secret"
SENDER = "203.0.113.7"


def skip_concurrent_webhooks_on_sqlite() -> None:
    """Skip a journey in which the sandbox posts webhooks to Django's live server while the test
    runs, under SQLite. There every request thread of the live server shares the test's one
    in-memory connection, so webhooks that arrive together interleave their transactions on it
    ("no such savepoint", "cannot start a transaction within a transaction"; about one run in
    three on a loaded machine). `.ci/run` runs these journeys on PostgreSQL."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite's shared in-memory test connection cannot take concurrent webhooks")


def event(name: str, **changes: Any) -> dict[str, Any]:
    """The fixture `name` (`<event>__<variant>`), top-level fields replaced by `changes`."""
    return json.loads((FIXTURES / f"{name}.json").read_text()) | changes


def body_of(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"))


def sign(body: str, *, key: str = KEY, secret: str = SECRET, minutes: float = 5) -> str:
    """The Authorization header LiveKit sends: a JWT whose sha256 claim hashes the body."""
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    token = AccessToken(key, secret).with_ttl(timedelta(minutes=minutes))
    return token.with_sha256(digest).to_jwt()


def post(body: str | bytes, authorization: str | None) -> Response:
    """POST as LiveKit does (no cookie, no CSRF token), from SENDER."""
    headers = {"Authorization": authorization} if authorization is not None else {}
    return Client(enforce_csrf_checks=True, REMOTE_ADDR=SENDER).post(
        reverse("egress-webhook"),
        data=body,
        content_type="application/webhook+json",
        headers=headers,
    )


def deliver(payload: dict[str, Any] | str) -> Response:
    """Sign and post an event (a fixture's name or its payload)."""
    body = body_of(event(payload) if isinstance(payload, str) else payload)
    return post(body, sign(body))


def database_text() -> str:
    """Every value of every row of every table."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            chunks += [str(value) for row in cursor.fetchall() for value in row]
    return "\n".join(chunks)
