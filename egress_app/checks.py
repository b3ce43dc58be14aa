"""System checks for misconfiguration, each with a stable id (see the README)."""

from __future__ import annotations

import os
import re
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import DatabaseError, connection

from egress_app.audio.recorder import WAV_MAX_SECONDS
from egress_app.crypto import SecretKeyError, secret_box
from egress_app.metrics import MULTIPROC_DIR
from egress_app.models import EgressJob, StorageProfile, StreamDestination

IN_MEMORY_LAYER = "channels.layers.InMemoryChannelLayer"


def _production() -> bool:
    return bool(settings.ENVIRONMENT == "production")


@register()
def check_production(**kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    if _production() and settings.DEBUG:
        messages.append(
            Error("DEBUG is on in production.", hint="Unset DEBUG.", id="egress_app.E001")
        )
    layer = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    if _production() and layer == IN_MEMORY_LAYER:
        messages.append(
            Error(
                "Production uses the in-memory channel layer: live updates would not reach "
                "browsers served by other processes.",
                hint="Set REDIS_URL.",
                id="egress_app.E002",
            )
        )
    if not settings.DEBUG and settings.SECRET_KEY == settings.DEFAULT_SECRET_KEY:
        messages.append(
            Error(
                "SECRET_KEY is the development default while DEBUG is off.",
                hint="Set SECRET_KEY to a long random value.",
                id="egress_app.E003",
            )
        )
    if _production() and settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        messages.append(
            Warning(
                "Production runs on SQLite.",
                hint="Set DATABASE_URL to PostgreSQL.",
                id="egress_app.W001",
            )
        )
    return messages


@register()
def check_egress_api(**kwargs: Any) -> list[CheckMessage]:
    if settings.LIVEKIT_EGRESS_API in ("v1", "v2"):
        return []
    return [
        Error(
            f"LIVEKIT_EGRESS_API is {settings.LIVEKIT_EGRESS_API!r}.",
            hint='Set it to "v1" (per-type Start RPCs) or "v2" (unified StartEgress).',
            id="egress_app.E008",
        )
    ]


@register()
def check_livekit(**kwargs: Any) -> list[CheckMessage]:
    key, secret = settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET
    if bool(key) != bool(secret):
        missing = "LIVEKIT_API_SECRET" if key else "LIVEKIT_API_KEY"
        return [
            Error(
                f"{missing} is not set: LiveKit needs the API key and its secret together.",
                hint="Set both LIVEKIT_API_KEY and LIVEKIT_API_SECRET.",
                id="egress_app.E004",
            )
        ]
    if not settings.LIVEKIT_SANDBOX and not key:
        return [
            Error(
                "LIVEKIT_URL is set but LIVEKIT_API_KEY and LIVEKIT_API_SECRET are not.",
                hint="Set the API key and secret of that LiveKit deployment.",
                id="egress_app.E005",
            )
        ]
    if _production() and settings.LIVEKIT_SANDBOX:
        return [
            Warning(
                "Production talks to the LiveKit sandbox, not a real LiveKit.",
                hint="Set LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET.",
                id="egress_app.W002",
            )
        ]
    return []


@register()
def check_metrics(**kwargs: Any) -> list[CheckMessage]:
    # Only unset (or empty) is caught here: a directory that is missing or not writable already
    # stops every process at start, when prometheus_client creates its files.
    if not _production() or os.environ.get(MULTIPROC_DIR):
        return []
    return [
        Warning(
            f"Production runs without {MULTIPROC_DIR}: /metrics would show only the counters "
            "of the web worker that answers, never the reconciler's (egress_worker).",
            hint=f"Set {MULTIPROC_DIR} to the same writable directory for every web worker and "
            "egress_worker, emptied at each deploy before they start.",
            id="egress_app.W003",
        )
    ]


@register()
def check_secret_keys(**kwargs: Any) -> list[CheckMessage]:
    try:
        secret_box()
    except SecretKeyError as error:
        return [
            Error(
                str(error),
                hint="Set SECRETS_ENCRYPTION_KEYS to valid Fernet keys, newest first.",
                id="egress_app.E006",
            )
        ]
    return []


@register(Tags.database)
def check_stored_secrets(
    databases: Collection[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    # Reads the database, so Django runs it only when asked to (migrate, `check --database`).
    if not databases:
        return []
    try:
        secret_box()
    except SecretKeyError:
        return []  # egress_app.E006 says why
    try:
        verify_secret_keys()
    except SecretKeyError as error:
        return [
            Error(
                str(error),
                hint="Add the key that encrypted the stored secrets to SECRETS_ENCRYPTION_KEYS.",
                id="egress_app.E007",
            )
        ]
    return []


def verify_secret_keys() -> None:
    """Raise SecretKeyError unless the keys load and decrypt what is stored."""
    box = secret_box()
    for token in _stored_tokens():
        box.decrypt_json(token)


def _stored_tokens() -> list[str]:
    """One stored token per secret-holding table, once migrations have given it its secrets
    column: this runs during `migrate` too, when a table may still be a migration behind."""
    tokens = []
    for model in (StorageProfile, StreamDestination, EgressJob):
        if "encrypted_secrets" in _columns(model._meta.db_table):
            rows = model.objects.exclude(encrypted_secrets="").order_by("-pk")
            token = rows.values_list("encrypted_secrets", flat=True).first()
            if token:
                tokens.append(token)
    return tokens


def _columns(table: str) -> set[str]:
    try:
        with connection.cursor() as cursor:
            if table not in connection.introspection.table_names(cursor):
                return set()
            description = connection.introspection.get_table_description(cursor, table)
    except DatabaseError:
        return set()
    return {column.name for column in description}


@register()
def check_audio_ingest(**kwargs: Any) -> list[CheckMessage]:
    url = settings.AUDIO_INGEST_URL
    if url and urlsplit(url).scheme in ("ws", "wss") and urlsplit(url).netloc:
        return []
    if not url and not _production():
        return []
    problem = f"AUDIO_INGEST_URL is {url!r}" if url else "AUDIO_INGEST_URL is not set"
    return [
        Error(
            f"{problem}: egress cannot send a room's audio to the dashboard.",
            hint="Set it to the dashboard's public websocket address, e.g. wss://dashboard.example.com.",
            id="egress_app.E009",
        )
    ]


@register()
def check_audio_recording(**kwargs: Any) -> list[CheckMessage]:
    limit = settings.AUDIO_RECORDING_MAX_SECONDS
    if 0 < limit <= WAV_MAX_SECONDS:
        return []
    return [
        Error(
            f"AUDIO_RECORDING_MAX_SECONDS is {limit:g}: a recording of a session's mix could "
            "hold nothing at all, or more than a WAV file can.",
            hint=f"Set it between 1 and {WAV_MAX_SECONDS} (about 37 hours), or leave it unset.",
            id="egress_app.E010",
        )
    ]


@register()
def check_request_webhooks(**kwargs: Any) -> list[CheckMessage]:
    """Request webhooks tell LiveKit where the dashboard is: SITE_ROOT, an http(s) address,
    set unless LiveKit is the bundled sandbox (on the same machine, the default reaches it)."""
    if not settings.LIVEKIT_REQUEST_WEBHOOKS:
        return []
    root = urlsplit(settings.SITE_ROOT)
    known = settings.SITE_ROOT_SET or settings.LIVEKIT_SANDBOX
    if known and root.scheme in ("http", "https") and root.netloc:
        return []
    problem = f"SITE_ROOT is {settings.SITE_ROOT!r}" if known else "SITE_ROOT is not set"
    return [
        Error(
            f"LIVEKIT_REQUEST_WEBHOOKS is on but {problem}: LiveKit would not know where to "
            "send the events of the egress the dashboard starts.",
            hint="Set SITE_ROOT to the dashboard's public address, e.g. "
            "https://dashboard.example.com, or turn LIVEKIT_REQUEST_WEBHOOKS off.",
            id="egress_app.E011",
        )
    ]


# django-ninja's throttle rates: a count, a slash, then s, m, h or d (or a word starting so).
_RATE = re.compile(r"^[1-9][0-9]*/[smhd][a-z]*$")


@register()
def check_api_rate_limit(**kwargs: Any) -> list[CheckMessage]:
    if _RATE.match(settings.API_RATE_LIMIT):
        return []
    return [
        Error(
            f"API_RATE_LIMIT is {settings.API_RATE_LIMIT!r}: every API call would fail.",
            hint="Give a count per second, minute, hour or day: 120/m, 5000/h.",
            id="egress_app.E012",
        )
    ]


@register()
def check_schedule_grace(**kwargs: Any) -> list[CheckMessage]:
    """A grace no longer than the worker's interval reports runs missed a worker took on time."""
    grace, interval = settings.EGRESS_SCHEDULE_GRACE_SECONDS, settings.EGRESS_WORKER_INTERVAL
    if grace > interval:
        return []
    return [
        Warning(
            f"EGRESS_SCHEDULE_GRACE_SECONDS ({grace:g}) is not longer than "
            f"EGRESS_WORKER_INTERVAL ({interval:g}): a running worker may report a schedule's "
            "run missed.",
            hint="Set the grace to a few worker intervals (120 s by default).",
            id="egress_app.W004",
        )
    ]


LIVE_PAGE_POLL_SECONDS = 5  # templates/dashboard/home.html's data-poll


@register()
def check_live_cache(**kwargs: Any) -> list[CheckMessage]:
    seconds = settings.LIVE_CACHE_SECONDS
    if seconds < 0:
        return [
            Error(
                f"LIVE_CACHE_SECONDS is {seconds}: a time to keep LiveKit's answers cannot be "
                "negative.",
                hint="Set whole seconds (2 by default), or 0 to read LiveKit on every refresh.",
                id="egress_app.E013",
            )
        ]
    if seconds >= LIVE_PAGE_POLL_SECONDS:
        return [
            Warning(
                f"LIVE_CACHE_SECONDS ({seconds}) is not shorter than the Live page's "
                f"{LIVE_PAGE_POLL_SECONDS} s poll: its refreshes may show LiveKit's rooms as "
                "they were a poll ago.",
                hint="Keep it a few seconds (2 by default).",
                id="egress_app.W005",
            )
        ]
    return []
