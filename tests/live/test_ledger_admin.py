"""The event ledger in Django admin: read-only, for admins."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from egress_app import actions

pytestmark = pytest.mark.django_db
LIST = reverse("admin:egress_app_ledgerentry_changelist")


@pytest.fixture
def refused() -> int:
    return actions.record_refused("invalid signature", remote_addr="203.0.113.9", size=321).pk


def test_it_shows_admins_the_refused_webhooks(client: Client, admin, refused: int) -> None:
    client.force_login(admin)

    page = client.get(LIST, {"outcome__exact": "refused"})

    assert page.status_code == 200
    assert "Refused" in page.content.decode()
    detail = client.get(reverse("admin:egress_app_ledgerentry_change", args=[refused]))
    assert detail.status_code == 200
    assert "invalid signature" in detail.content.decode()


def test_it_keeps_the_ledger_read_only(client: Client, admin, refused: int) -> None:
    client.force_login(admin)

    assert client.get(reverse("admin:egress_app_ledgerentry_add")).status_code == 403
    delete = reverse("admin:egress_app_ledgerentry_delete", args=[refused])
    assert client.post(delete, {"post": "yes"}).status_code == 403


def test_it_sends_anonymous_visitors_to_log_in(client: Client) -> None:
    response = client.get(LIST)

    assert response.status_code == 302
    assert "/login/" in response["Location"]


@pytest.mark.parametrize("persona", ["producer", "support", "outsider"])
def test_it_keeps_other_roles_out(client: Client, persona: str, request) -> None:
    client.force_login(request.getfixturevalue(persona))

    response = client.get(LIST)

    assert response.status_code == 302  # the admin's own login page: not theirs
    assert "/admin/login/" in response["Location"]
