"""Deactivating a person closes their open live sockets (the pages stop hearing of jobs at
once), and only theirs; a reconnect is refused, their session being gone. Through the real
ASGI application and the configured channel layer (tests/live/test_consumer.py's helpers)."""

from __future__ import annotations

import pytest

from egress_app.actions import people
from tests.live.test_consumer import WAIT, asgi_loaded, following, refused, sync  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


async def test_it_closes_a_deactivated_persons_sockets_and_only_theirs(
    admin, producer, support
) -> None:
    async with following("view=jobs", producer) as theirs, following("view=jobs", support) as other:
        await sync(people.deactivate_person, admin, producer)
        assert (await theirs.receive_output(timeout=WAIT))["type"] == "websocket.close"
        assert await other.receive_nothing()
    assert await refused("view=jobs", producer)
