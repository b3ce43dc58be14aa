from __future__ import annotations

import pytest
from django.urls import reverse

from egress_app.roles import ADMINS
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["dashboard-home", "dashboard-home-live"])
def test_it_sends_anonymous_visitors_to_the_login_page(client, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_it_shows_a_clean_login_page(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'autocomplete="current-password"' in response.content
    assert b"didn&#x27;t match" not in response.content


def test_it_logs_a_producer_in_and_sends_them_home(client, producer):
    response = client.post(
        reverse("login"), {"username": producer.username, "password": "pat-producer-test-pass"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard-home")


def test_it_says_clearly_when_the_password_is_wrong(client, producer):
    response = client.post(reverse("login"), {"username": producer.username, "password": "nope"})
    assert response.status_code == 200
    assert "Your username and password didn't match" in response.content.decode().replace(
        "&#x27;", "'"
    )
    assert "_auth_user_id" not in client.session


def test_it_keeps_the_next_page_after_login(client, support):
    response = client.post(
        f"{reverse('login')}?next=/live/",
        {"username": support.username, "password": "sam-support-test-pass", "next": "/live/"},
    )
    assert response["Location"] == "/live/"


def test_it_logs_out_by_post(client, producer):
    client.force_login(producer)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert client.get(reverse("dashboard-home")).status_code == 302


def test_it_does_not_log_out_on_a_get(client, producer):
    client.force_login(producer)
    assert client.get(reverse("logout")).status_code == 405
    assert client.get(reverse("dashboard-home")).status_code == 200


def test_it_lets_the_admin_open_django_admin(client, admin):
    client.force_login(admin)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert b"Users" in response.content


def test_it_keeps_a_producer_out_of_django_admin(client, producer):
    client.force_login(producer)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("persona", ["support", "outsider"])
def test_it_keeps_other_roles_out_of_django_admin(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("admin:index")).status_code == 302


def test_it_lets_any_member_of_the_admins_group_into_django_admin(client, db):
    # Added to the group by hand, without is_staff: the role alone is enough.
    member = make_user("new-admin", ADMINS)
    client.force_login(member)
    assert client.get(reverse("admin:index")).status_code == 200
