"""Sign-in lockout (django-axes, for real: its database handler, backend and middleware), the
lockout page, admins lifting a lock, and the log line and metric of each sign-in."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from prometheus_client import REGISTRY

pytestmark = pytest.mark.django_db

LIMIT = 5  # LOGIN_FAILURE_LIMIT's default
RIGHT = "pat-producer-test-pass"


def sign_in(client: Client, username: str, password: str, address: str = "127.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def fail(client: Client, username: str, times: int = LIMIT, address: str = "127.0.0.1") -> None:
    for _ in range(times):
        sign_in(client, username, "wrong-password", address)


def signins(outcome: str) -> float:
    return REGISTRY.get_sample_value("egress_dashboard_signins_total", {"outcome": outcome}) or 0


def test_it_still_lets_in_after_fewer_failures_than_the_limit(client, producer):
    fail(client, producer.username, LIMIT - 1)

    response = sign_in(client, producer.username, RIGHT)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(producer.pk)


def test_it_refuses_the_right_password_once_locked_out(client, producer):
    fail(client, producer.username)

    response = sign_in(client, producer.username, RIGHT)

    assert response.status_code == 429
    assert response["Retry-After"] == str(15 * 60)
    text = response.content.decode()
    assert "Too many failed sign-ins" in text
    assert "locked for\n      15 minutes" in text
    assert 'autocomplete="current-password"' in text  # still the page, not a bare error
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
async def test_it_shows_the_lockout_page_under_asgi_too(async_client, producer):
    # Production runs the ASGI handler, where axes's middleware takes its async path.
    for _ in range(LIMIT):
        await async_client.post(reverse("login"), {"username": producer.username, "password": "x"})

    response = await async_client.post(
        reverse("login"), {"username": producer.username, "password": RIGHT}
    )

    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()


def test_it_locks_out_an_address_trying_many_usernames(client, producer):
    for number in range(LIMIT):
        sign_in(client, f"guess-{number}", "wrong-password", address="203.0.113.9")

    locked = sign_in(client, producer.username, RIGHT, address="203.0.113.9")
    elsewhere = sign_in(Client(), producer.username, RIGHT, address="198.51.100.4")

    assert locked.status_code == 429
    assert elsewhere.status_code == 302


def test_it_locks_a_username_tried_from_many_addresses(client, producer):
    for number in range(LIMIT):
        sign_in(client, producer.username, "wrong-password", address=f"203.0.113.{number}")

    assert sign_in(client, producer.username, RIGHT, address="198.51.100.4").status_code == 429


def test_it_lifts_the_lock_after_the_cool_off(client, producer):
    fail(client, producer.username)
    assert sign_in(client, producer.username, RIGHT).status_code == 429
    # As if the last failure were 16 minutes ago (LOGIN_LOCKOUT_MINUTES is 15).
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    response = sign_in(client, producer.username, RIGHT)

    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()  # a success resets the count


def test_it_locks_django_admins_sign_in_too(client, admin):
    for _ in range(LIMIT):
        client.post(reverse("admin:login"), {"username": admin.username, "password": "nope"})

    response = client.post(
        reverse("admin:login"), {"username": admin.username, "password": "ada-admin-test-pass"}
    )

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_it_lets_an_admin_lift_a_lock_in_django_admin(client, producer, admin):
    fail(Client(), producer.username)
    client.force_login(admin)
    attempts = reverse("admin:axes_accessattempt_changelist")
    assert producer.username in client.get(attempts).content.decode()
    attempt = AccessAttempt.objects.get(username=producer.username)

    deleted = client.post(
        reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"}
    )

    assert deleted.status_code == 302
    assert sign_in(Client(), producer.username, RIGHT).status_code == 302


@pytest.mark.parametrize("persona", ["producer", "support"])
def test_it_keeps_other_roles_from_the_sign_in_records(client, persona, request):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(reverse("admin:axes_accessattempt_changelist"))
    assert response.status_code in (302, 403)


def test_it_keeps_anonymous_visitors_from_the_sign_in_records(client):
    response = client.get(reverse("admin:axes_accessattempt_changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_logs_and_counts_each_sign_in_without_the_password(client, producer, caplog):
    before = {outcome: signins(outcome) for outcome in ("success", "failure", "locked")}
    caplog.set_level(logging.INFO, logger="dashboard.signins")

    sign_in(client, producer.username, RIGHT)
    client.logout()
    fail(client, producer.username, LIMIT + 1)

    lines = [record.getMessage() for record in caplog.records]
    assert f"Sign-in of '{producer.username}' from 127.0.0.1" in lines
    assert f"Failed sign-in for '{producer.username}' from 127.0.0.1" in lines
    assert any(line.startswith("Sign-in refused, locked out") for line in lines)
    assert not any(RIGHT in line or "wrong-password" in line for line in lines)
    assert signins("success") - before["success"] == 1
    assert signins("failure") - before["failure"] == LIMIT + 1
    assert signins("locked") - before["locked"] >= 1
