"""Personas for the dashboard's tests: one user per role, an outsider with none."""

from __future__ import annotations

import socket

import pytest
from django.contrib.auth.models import Group, User

from egress_app.roles import ADMINS, PRODUCERS, SUPPORT


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
