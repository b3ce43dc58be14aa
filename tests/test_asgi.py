from __future__ import annotations

import asyncio
import importlib

import pytest
from cryptography.fernet import Fernet

from egress_app import actions
from egress_app.crypto import SecretKeyError


def load_asgi():
    # Imported here, not at collection: loading the app reads the database (the key check).
    import dashboard.asgi

    return importlib.reload(dashboard.asgi)


def test_it_builds_the_asgi_application(db):
    assert callable(load_asgi().application)


def test_it_refuses_to_start_when_the_key_cannot_read_stored_secrets(db, settings, admin):
    actions.create_stream_destination(
        admin, name="YouTube", server_url="rtmp://a.rtmp.youtube.com/live2", stream_key="k-123"
    )
    settings.SECRETS_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(SecretKeyError, match="SECRETS_ENCRYPTION_KEYS"):
        load_asgi()


async def load_in_a_loop():
    return load_asgi()


def test_it_loads_inside_an_event_loop_as_uvicorn_does(
    transactional_db, django_db_serialized_rollback
):
    # uvicorn imports the app in its running loop, where a database read at import would fail.
    assert callable(asyncio.run(load_in_a_loop()).application)


def test_it_refuses_a_wrong_key_inside_an_event_loop_too(
    transactional_db, django_db_serialized_rollback, settings
):
    actions.create_stream_destination(
        None, name="YouTube", server_url="rtmp://a.rtmp.youtube.com/live2", stream_key="k-123"
    )
    settings.SECRETS_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(SecretKeyError, match="SECRETS_ENCRYPTION_KEYS"):
        asyncio.run(load_in_a_loop())
