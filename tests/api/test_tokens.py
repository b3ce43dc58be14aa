"""Personal API tokens: created and shown once, kept as a digest, revoked, audited; the
Tokens page for each role."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from hypothesis import example, given

from egress_app import actions
from egress_app.models import ApiToken, AuditEntry
from tests.api import token_for
from tests.dashboard.test_fuzzed_input import PER_FORM, assert_answered, fuzzed

pytestmark = pytest.mark.django_db

LIST = reverse("dashboard-token-list")


def in_days(days: int):
    return timezone.now() + timedelta(days=days)


# --- the actions --------------------------------------------------------------------------------
def test_it_keeps_only_the_tokens_digest(producer):
    created = actions.create_token(producer, name="CI", expires_at=in_days(30))
    row = ApiToken.objects.get()
    assert created.plaintext.startswith(f"egd_{row.prefix}_")
    assert row.digest == hashlib.sha256(created.plaintext.encode()).hexdigest()
    secret = created.plaintext.split("_", 2)[2]
    assert all(secret not in str(value) for value in row.__dict__.values())


def test_it_finds_a_usable_token_and_no_other(producer):
    plaintext = token_for(producer)
    assert actions.find_token(plaintext).user == producer
    for wrong in ("", "egd_", plaintext[:-1] + "x", plaintext.replace("egd_", "abc_"), "a" * 500):
        assert actions.find_token(wrong) is None


def test_it_refuses_an_expired_revoked_or_deactivated_token(producer):
    expired = token_for(producer, "old")
    ApiToken.objects.filter(name="old").update(expires_at=timezone.now() - timedelta(seconds=1))
    revoked = token_for(producer, "gone")
    actions.revoke_token(producer, ApiToken.objects.get(name="gone"))
    assert actions.find_token(expired) is None
    assert actions.find_token(revoked) is None
    live = token_for(producer, "live")
    producer.is_active = False
    producer.save()
    assert actions.find_token(live) is None


@pytest.mark.parametrize(
    ("name", "days", "field"),
    [
        ("", 30, "name"),
        ("x" * 101, 30, "name"),
        ("CI", -1, "expires_at"),
        ("CI", 400, "expires_at"),
    ],
)
def test_it_refuses_a_bad_name_or_expiry(producer, name, days, field):
    with pytest.raises(ValidationError) as caught:
        actions.create_token(producer, name=name, expires_at=in_days(days))
    assert field in caught.value.message_dict
    assert not ApiToken.objects.exists()


def test_it_refuses_a_second_live_token_of_the_same_name(producer):
    token_for(producer, "CI")
    with pytest.raises(ValidationError, match="already have a token of that name"):
        token_for(producer, "CI")


def test_it_lets_only_the_owner_or_an_admin_revoke(producer, admin, support):
    token_for(producer)
    token = ApiToken.objects.get()
    with pytest.raises(PermissionDenied):
        actions.revoke_token(support, token)
    assert actions.revoke_token(admin, token).revoked_at is not None


def test_it_audits_creating_and_revoking(producer, admin):
    token_for(producer, "CI")
    actions.revoke_token(admin, ApiToken.objects.get())
    entries = list(AuditEntry.objects.order_by("at", "pk"))
    assert [(e.actor_name, e.action, e.target_type, e.target_name) for e in entries] == [
        ("pat-producer", "created", "api_token", "CI"),
        ("ada-admin", "revoked", "api_token", "CI"),
    ]
    assert entries[1].outcome == "of pat-producer"


def test_it_records_a_use_at_most_once_a_minute_per_address(producer):
    token = ApiToken.objects.get(pk=actions.find_token(token_for(producer)).pk)
    actions.record_use(token, "10.0.0.1")
    first = ApiToken.objects.get().last_used_at
    actions.record_use(token, "10.0.0.1")
    assert ApiToken.objects.get().last_used_at == first
    actions.record_use(token, "10.0.0.2")
    assert ApiToken.objects.get().last_used_from == "10.0.0.2"


# --- the page -----------------------------------------------------------------------------------
def test_it_sends_anonymous_visitors_to_the_login_page(client):
    for url in (LIST, reverse("dashboard-token-revoke", args=[1])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_it_refuses_people_without_a_role(client, outsider):
    client.force_login(outsider)
    assert client.get(LIST).status_code == 403
    assert client.post(LIST, {"name": "x", "expires_on": "2099-01-01"}).status_code == 403


@pytest.mark.parametrize("persona", ["producer", "support", "admin"])
def test_it_shows_an_empty_state_then_a_new_token_once(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    assert "No tokens yet" in client.get(LIST).content.decode()
    day = (timezone.localdate() + timedelta(days=10)).isoformat()
    response = client.post(LIST, {"name": "Nightly CI", "expires_on": day})
    html = response.content.decode()
    assert response["Cache-Control"] == "no-store"
    row = ApiToken.objects.get()
    [shown] = [part for part in html.split('"') if part.startswith(f"egd_{row.prefix}_")]
    assert actions.find_token(shown) == row
    assert shown not in client.get(LIST).content.decode()  # never again


def test_it_shows_a_bad_expiry_on_the_form(client, producer):
    client.force_login(producer)
    response = client.post(LIST, {"name": "CI", "expires_on": "2000-01-01"})
    assert "Give a day in the future." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_producers_see_their_own_tokens_and_admins_everyones(client, producer, support, admin):
    token_for(producer, "pat's")
    token_for(support, "sam's")
    client.force_login(producer)
    html = client.get(LIST).content.decode()
    assert "pat&#x27;s" in html
    assert "sam&#x27;s" not in html
    client.force_login(admin)
    html = client.get(LIST).content.decode()
    assert "pat&#x27;s" in html
    assert "sam&#x27;s" in html


def test_it_confirms_before_revoking(client, producer):
    token_for(producer, "CI")
    token = ApiToken.objects.get()
    url = reverse("dashboard-token-revoke", args=[token.pk])
    client.force_login(producer)
    assert "Revoke the token CI?" in client.get(url).content.decode()
    assert ApiToken.objects.get().revoked_at is None
    assert client.post(url).status_code == 302
    assert ApiToken.objects.get().state == "Revoked"


def test_it_hides_another_persons_token_from_a_producer(client, producer, support):
    token_for(support, "CI")
    url = reverse("dashboard-token-revoke", args=[ApiToken.objects.get().pk])
    client.force_login(producer)
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    assert ApiToken.objects.get().revoked_at is None


def test_an_admin_revokes_anyones_token(client, producer, admin):
    token_for(producer, "CI")
    url = reverse("dashboard-token-revoke", args=[ApiToken.objects.get().pk])
    client.force_login(admin)
    assert client.post(url).status_code == 302
    assert ApiToken.objects.get().revoked_at is not None


def test_it_answers_any_value_of_the_token_form(client, producer):
    """Hypothesis posts arbitrary values (the form fuzzer's: huge, NUL, calendar ends) to the
    Tokens form: never a 500, and a refused form writes nothing."""
    client.force_login(producer)

    @PER_FORM
    @given(values=fuzzed(["name", "expires_on"]))
    @example(values={"name": "\x00", "expires_on": "9999-12-31"})
    @example(values={"name": "9" * 5000, "expires_on": "0001-01-01"})
    def send(values):
        before = ApiToken.objects.count()
        response = client.post(LIST, values)
        assert_answered(response)
        if "Your new token" not in response.content.decode():
            assert ApiToken.objects.count() == before

    send()
