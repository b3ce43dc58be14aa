"""Shared fixtures: the personas (one user per role, an outsider with none) and one LiveKit
sandbox for the whole session, reset before each test that uses it."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Group, User
from pytest_django.fixtures import Settings

from dashboard import livekit_cache
from egress_app.roles import ADMINS, PRODUCERS, SUPPORT
from egress_app.sandbox.config import Pacing
from egress_app.sandbox.testing import RunningSandbox, fast_config, running_sandbox

# Storage emulators (moto's S3 server, Azurite, a GCS emulator) as session fixtures for any test.
pytest_plugins = ["tests.emulators"]


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[RunningSandbox]:
    with running_sandbox(fast_config()) as running:
        yield running


@pytest.fixture
def sandbox(sandbox_server: RunningSandbox, settings: Settings) -> RunningSandbox:
    """The session's sandbox, back to the demo fixture, no egresses, no webhook URLs, fast pacing.

    Django's LIVEKIT_URL / LIVEKIT_API_KEY / LIVEKIT_API_SECRET point at it for the test.
    """
    sandbox_server.control.reset(fixture="demo", pacing=Pacing.fast(), webhook_urls=[])
    settings.LIVEKIT_URL = sandbox_server.url
    settings.LIVEKIT_API_KEY = sandbox_server.api_key
    settings.LIVEKIT_API_SECRET = sandbox_server.api_secret
    return sandbox_server


def pytest_configure(config: pytest.Config) -> None:
    # "secret" is LiveKit's well-known dev secret, shorter than PyJWT's recommended HMAC key.
    config.addinivalue_line("filterwarnings", "ignore::jwt.warnings.InsecureKeyLengthWarning")


@pytest.fixture(autouse=True)
def fresh_live_reads() -> None:
    """The Live page's shared LiveKit answers are one test's, not the next one's (forgotten, not
    cleared: clearing a Redis cache empties its whole database)."""
    livekit_cache.forget()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    # Real hashing takes ~0.5 s per password by design; tests hash dozens.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_user(username: str, role: str | None = None, **extra: object) -> User:
    user = User.objects.create_user(username, password=f"{username}-test-pass", **extra)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def producer(db) -> User:
    return make_user("pat-producer", PRODUCERS)


@pytest.fixture
def admin(db) -> User:
    # Like a real admin: in the admins group and allowed into Django admin, not a superuser.
    return make_user("ada-admin", ADMINS, is_staff=True)


@pytest.fixture
def support(db) -> User:
    return make_user("sam-support", SUPPORT)


@pytest.fixture
def outsider(db) -> User:
    return make_user("olly-outsider")


@pytest.fixture
def closed_port_url() -> str:
    """An http URL on loopback where nothing listens: LiveKit is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
