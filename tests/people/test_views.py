"""The People page (issue 17, section 4): admins manage the team; producers, support and people
without a role get 403 on every page and action, anonymous people the sign-in page."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django.urls import reverse

from dashboard.people_links import HideLinkTokens
from egress_app.actions import people
from egress_app.models import AuditAction, AuditEntry, AuditTarget, PasswordLink
from egress_app.roles import ADMINS, PRODUCERS, SUPPORT
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

LIST = reverse("dashboard-people-list")
CREATE = reverse("dashboard-person-create")
WELCOME = reverse("dashboard-welcome")


def _pages(pk: int) -> list[tuple[str, str]]:
    """Every People page and action, with the method that uses it."""
    return [
        ("get", LIST),
        ("get", CREATE),
        ("post", CREATE),
        ("get", reverse("dashboard-person-detail", args=[pk])),
        ("post", reverse("dashboard-person-role", args=[pk])),
        ("get", reverse("dashboard-person-deactivate", args=[pk])),
        ("post", reverse("dashboard-person-deactivate", args=[pk])),
        ("post", reverse("dashboard-person-reactivate", args=[pk])),
        ("get", reverse("dashboard-person-reset", args=[pk])),
        ("post", reverse("dashboard-person-reset", args=[pk])),
    ]


def _client(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _signs_in(username: str, password: str) -> bool:
    response = Client().post(reverse("login"), {"username": username, "password": password})
    return response.status_code == 302


def _token_of(response) -> str:
    url = response.context["url"]
    return url.rstrip("/").rsplit("/", 1)[1]


def _invite(client: Client, username: str = "nina-new", role: str = PRODUCERS) -> str:
    response = client.post(
        CREATE,
        {"username": username, "email": f"{username}@example.com", "role": role, "how": "invite"},
    )
    assert response.status_code == 200, response.content
    return _token_of(response)


def test_it_sends_anonymous_people_to_sign_in_from_every_page(producer) -> None:
    for method, path in _pages(producer.pk):
        response = getattr(Client(), method)(path)
        assert response.status_code == 302, path
        assert response.url.startswith(reverse("login")), path


@pytest.mark.parametrize("persona", ["producer", "support", "outsider"])
def test_it_refuses_everyone_but_admins_every_page_and_action(persona, request, admin) -> None:
    client = _client(request.getfixturevalue(persona))
    for method, path in _pages(admin.pk):
        assert getattr(client, method)(path).status_code == 403, (persona, method, path)
    assert User.objects.get(pk=admin.pk).is_active
    assert not AuditEntry.objects.filter(target_type=AuditTarget.USER).exists()


@pytest.mark.parametrize("persona", ["producer", "support", "outsider"])
def test_it_hides_the_people_link_from_everyone_but_admins(persona, request) -> None:
    client = _client(request.getfixturevalue(persona))
    assert (
        LIST
        not in client.get(reverse("dashboard-audit")).content.decode()
        + client.get("/").content.decode()
    )


def test_it_lists_people_with_role_state_and_zoned_last_login(admin, producer, support) -> None:
    client = _client(admin)  # force_login sets last_login
    _invite(client, "ivy-invited")
    people.deactivate_person(admin, support)
    page = client.get(LIST).content.decode()
    assert "ada-admin" in page
    assert "UTC" in page
    assert 'data-person="ivy-invited"' in page
    assert "Invited" in page
    assert "Deactivated" in page
    assert "Never" in page


def test_it_filters_people_by_role_state_and_search(admin, producer, support) -> None:
    client = _client(admin)
    page = client.get(LIST, {"role": SUPPORT}).content.decode()
    assert "sam-support" in page
    assert "pat-producer" not in page
    page = client.get(LIST, {"q": "PAT"}).content.decode()
    assert "pat-producer" in page
    assert "sam-support" not in page
    page = client.get(LIST, {"state": "deactivated"}).content.decode()
    assert "Nobody matches these filters" in page


def test_it_lists_people_in_a_fixed_number_of_queries(
    admin, producer, support, django_assert_max_num_queries
) -> None:
    client = _client(admin)
    for number in range(5):
        make_user(f"extra-{number}", PRODUCERS)
    with django_assert_max_num_queries(12):
        assert client.get(LIST).status_code == 200


def test_it_creates_a_person_with_a_password_who_can_sign_in(admin) -> None:
    client = _client(admin)
    response = client.post(
        CREATE,
        {
            "username": "sue",
            "email": "",
            "role": SUPPORT,
            "how": "password",
            "password1": "a-long-enough-passphrase",
            "password2": "a-long-enough-passphrase",
        },
    )
    assert response.status_code == 302
    assert _signs_in("sue", "a-long-enough-passphrase")
    entry = AuditEntry.objects.get(target_type=AuditTarget.USER, target_name="sue")
    assert (entry.action, entry.actor_name, entry.outcome) == (
        AuditAction.CREATED,
        "ada-admin",
        "as Support",
    )


def test_it_refuses_a_weak_password_or_taken_username_with_field_errors(admin, producer) -> None:
    client = _client(admin)
    response = client.post(
        CREATE,
        {
            "username": "pat-producer",
            "role": PRODUCERS,
            "how": "password",
            "password1": "123",
            "password2": "123",
        },
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "username" in errors
    assert "password1" in errors
    assert User.objects.count() == 2


def test_it_invites_with_a_link_shown_once_and_stored_hashed(admin, settings) -> None:
    settings.EMAIL_CONFIGURED = True
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    token = _invite(_client(admin))
    link = PasswordLink.objects.get()
    assert token not in link.token_hash
    assert link.token_hash == people.token_hash(token)
    assert not User.objects.get(username="nina-new").has_usable_password()
    assert len(mail.outbox) == 1
    assert token in mail.outbox[0].body
    assert not any(token in str(row) for row in Session.objects.values_list("session_data"))
    assert AuditEntry.objects.get(target_name="nina-new").action == AuditAction.INVITED


def test_it_lets_the_invitee_set_a_password_once(admin) -> None:
    token = _invite(_client(admin))
    invitee = Client()
    assert invitee.get(reverse("dashboard-welcome-link", args=[token])).url == WELCOME
    assert "nina-new" in invitee.get(WELCOME).content.decode()
    weak = invitee.post(WELCOME, {"new_password1": "nina-new", "new_password2": "nina-new"})
    assert weak.status_code == 200
    assert weak.context["form"].errors
    done = invitee.post(
        WELCOME, {"new_password1": "river-boat-lantern", "new_password2": "river-boat-lantern"}
    )
    assert done.url == reverse("login")
    assert _signs_in("nina-new", "river-boat-lantern")
    again = Client()
    again.get(reverse("dashboard-welcome-link", args=[token]))
    response = again.get(WELCOME)
    assert response.status_code == 410
    assert "already been used" in response.content.decode()


def test_it_says_clearly_when_a_link_is_wrong_expired_or_missing(admin, settings) -> None:
    client = Client()
    client.get(reverse("dashboard-welcome-link", args=["not-a-real-token"]))
    assert "not valid" in client.get(WELCOME).content.decode()
    assert Client().get(WELCOME).status_code == 410
    settings.INVITE_LINK_HOURS = -1
    token = _invite(_client(admin))
    client.get(reverse("dashboard-welcome-link", args=[token]))
    response = client.post(
        WELCOME, {"new_password1": "river-boat-lantern", "new_password2": "river-boat-lantern"}
    )
    assert response.status_code == 410
    assert "expired" in response.content.decode()


@pytest.mark.parametrize("persona", ["producer", "support", "outsider", "admin"])
def test_it_refuses_a_used_link_to_anyone_signed_in(persona, request, admin) -> None:
    token = _invite(_client(admin))
    PasswordLink.objects.update(used_at=PasswordLink.objects.get().created_at)
    client = _client(request.getfixturevalue(persona))
    client.get(reverse("dashboard-welcome-link", args=[token]))
    assert client.get(WELCOME).status_code == 410
    assert (
        client.post(WELCOME, {"new_password1": "x" * 12, "new_password2": "x" * 12}).status_code
        == 410
    )


def test_it_changes_a_role_and_audits_it(admin, producer) -> None:
    _client(admin).post(reverse("dashboard-person-role", args=[producer.pk]), {"role": SUPPORT})
    assert people.role_of(User.objects.get(pk=producer.pk)) == SUPPORT
    entry = AuditEntry.objects.get(action=AuditAction.ROLE_CHANGED)
    assert (entry.actor_name, entry.target_name, entry.outcome) == (
        "ada-admin",
        "pat-producer",
        "Producer → Support",
    )


def test_it_refuses_to_demote_or_deactivate_the_last_admin(admin) -> None:
    client = _client(admin)
    response = client.post(
        reverse("dashboard-person-role", args=[admin.pk]), {"role": PRODUCERS}, follow=True
    )
    assert "last active admin" in response.content.decode()
    response = client.post(reverse("dashboard-person-deactivate", args=[admin.pk]))
    assert response.status_code == 409
    assert "last active admin" in response.content.decode()
    assert people.role_of(User.objects.get(pk=admin.pk)) == ADMINS


def test_it_deactivates_a_person_and_ends_their_sessions(admin, producer) -> None:
    theirs = _client(producer)
    assert theirs.get("/").status_code == 200
    response = _client(admin).post(reverse("dashboard-person-deactivate", args=[producer.pk]))
    assert response.status_code == 302
    assert theirs.get("/").status_code == 302
    assert not _signs_in("pat-producer", "pat-producer-test-pass")
    _client(admin).post(reverse("dashboard-person-reactivate", args=[producer.pk]))
    assert _signs_in("pat-producer", "pat-producer-test-pass")
    actions = list(
        AuditEntry.objects.filter(target_id=producer.pk).values_list("action", flat=True)
    )
    assert actions == [AuditAction.REACTIVATED, AuditAction.DEACTIVATED]


def test_it_makes_a_reset_link_that_replaces_older_ones(admin, producer) -> None:
    client = _client(admin)
    reset = reverse("dashboard-person-reset", args=[producer.pk])
    assert "Make the link" in client.get(reset).content.decode()
    first = _token_of(client.post(reset))
    second = _token_of(client.post(reset))
    holder = Client()
    holder.get(reverse("dashboard-welcome-link", args=[first]))
    assert holder.get(WELCOME).status_code == 410
    holder.get(reverse("dashboard-welcome-link", args=[second]))
    holder.post(
        WELCOME, {"new_password1": "fresh-river-lantern", "new_password2": "fresh-river-lantern"}
    )
    assert _signs_in("pat-producer", "fresh-river-lantern")


def test_it_hides_a_link_token_in_access_log_lines() -> None:
    token = "Abc_def-123456789"
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/welcome/{token}/", "1.1", 302),
        None,
    )
    HideLinkTokens().filter(record)
    assert token not in record.getMessage()
    assert "/welcome/[hidden]/" in record.getMessage()
    assert len(record.args) == 5


def test_it_lets_an_admin_step_down_when_another_admin_remains(admin) -> None:
    make_user("abe-admin", ADMINS)
    response = _client(admin).post(
        reverse("dashboard-person-role", args=[admin.pk]), {"role": PRODUCERS}
    )
    assert response.url == reverse("dashboard-home")
    assert people.role_of(User.objects.get(pk=admin.pk)) == PRODUCERS


def test_it_links_a_person_from_the_audit_log(admin, producer) -> None:
    client = _client(admin)
    client.post(reverse("dashboard-person-role", args=[producer.pk]), {"role": SUPPORT})
    page = client.get(reverse("dashboard-audit")).content.decode()
    assert reverse("dashboard-person-detail", args=[producer.pk]) in page


def test_it_filters_in_place_with_htmx(admin, producer) -> None:
    response = _client(admin).get(LIST, {"q": "pat"}, headers={"HX-Request": "true"})
    page = response.content.decode()
    assert "pat-producer" in page
    assert "<h1>" not in page
