"""Test these settings on the engine profile form: the saved profile's Test (a short real
session) on the form's values, before saving (issue 16, §3).

The Gladia sessions go to the listener engine the saved-profile Test's own tests use
(tests/transcribe/listener.py); the Forward ones over a real websocket to ForwardStandIn.
"""

from __future__ import annotations

import pytest
from django.forms.models import model_to_dict
from django.urls import reverse

from egress_app.models import AuditAction, AuditEntry, AuditTarget, EngineProfile
from tests.dashboard.test_engine_views import API_KEY, GLADIA_FORM, make_profile, words_of
from tests.transcribe.listener import listening
from tests.transcribe.standins import ForwardStandIn

pytestmark = pytest.mark.django_db

CREATE = reverse("dashboard-engine-create")
CREATE_TEST = reverse("dashboard-engine-create-test")
HTMX = {"HX-Request": "true"}
TOKEN = "forward-settings-test-token-3c2d"


def edit_test_url(profile: EngineProfile) -> str:
    return reverse("dashboard-engine-edit-test", args=[profile.pk])


def unchanged(profile: EngineProfile) -> None:
    fresh = EngineProfile.objects.get(pk=profile.pk)
    assert model_to_dict(fresh) == model_to_dict(profile)
    assert fresh.updated_at == profile.updated_at
    assert fresh.last_tested_at is None


@pytest.fixture
def as_admin(client, admin):
    client.force_login(admin)
    return client


@pytest.fixture
def profile(db) -> EngineProfile:
    return make_profile()


def test_it_sends_anonymous_visitors_to_the_login_page(client, profile):
    for url in (CREATE_TEST, edit_test_url(profile)):
        response = client.post(url, GLADIA_FORM)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("persona", ["producer", "support", "outsider"])
def test_it_refuses_every_other_role(client, request, profile, persona):
    client.force_login(request.getfixturevalue(persona))
    with listening() as engine:
        for url in (CREATE_TEST, edit_test_url(profile)):
            assert client.post(url, GLADIA_FORM).status_code == 403
    assert engine.opened == []
    assert not AuditEntry.objects.filter(outcome__startswith="unsaved").exists()


def test_it_offers_the_button_on_the_add_and_edit_forms(as_admin, profile):
    for page, url in (
        (CREATE, CREATE_TEST),
        (reverse("dashboard-engine-edit", args=[profile.pk]), edit_test_url(profile)),
    ):
        html = as_admin.get(page).content.decode()
        form = html.split('id="profile-form"')[1].split("</form>")[0]
        assert f'formaction="{url}"' in form
        assert f'hx-post="{url}"' in form
        assert 'id="settings-test-progress"' in form
        assert "waiting for the first words, closing (at most 20 s)…" in form


def test_it_tests_a_new_profile_before_saving(as_admin, admin):
    with listening() as engine:
        response = as_admin.post(CREATE_TEST, GLADIA_FORM, headers=HTMX)
    words = words_of(response.content.decode())
    assert "These settings work. The engine heard the test speech and answered." in words
    assert "Close Closed the session (1 final result in all)." in words
    assert engine.opened[0].key == API_KEY
    assert not EngineProfile.objects.exists()
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.actor, entry.target_type, entry.target_id) == (
        AuditAction.TESTED,
        admin,
        AuditTarget.ENGINE_PROFILE,
        None,
    )
    assert entry.outcome == "unsaved settings (Gladia live (v2)): ok"


def test_it_tests_an_edit_with_the_stored_key_when_left_blank(as_admin, profile):
    data = GLADIA_FORM | {"api_key": "", "name": "Gladia"}
    with listening() as engine:
        response = as_admin.post(edit_test_url(profile), data, headers=HTMX)
    assert "These settings work." in words_of(response.content.decode())
    assert engine.opened[0].key == API_KEY
    unchanged(profile)


def test_it_says_a_wrong_key_failed_without_showing_it(as_admin, profile):
    data = GLADIA_FORM | {"api_key": "wrong-key", "name": "Gladia"}
    with listening():
        response = as_admin.post(edit_test_url(profile), data)  # without JavaScript
    html = response.content.decode()
    words = words_of(html)
    assert "Edit Gladia" in words
    assert "These settings failed." in words
    assert "401 invalid API key" in words
    assert "wrong-key" not in html
    assert API_KEY not in html
    unchanged(profile)
    assert "failed: " in AuditEntry.objects.latest("id").outcome


def test_it_shows_field_errors_and_opens_no_session(as_admin):
    audits = AuditEntry.objects.count()
    with listening() as engine:
        response = as_admin.post(CREATE_TEST, GLADIA_FORM | {"api_key": ""}, headers=HTMX)
    assert response["HX-Retarget"] == "#profile-form"
    assert "Please correct the fields marked below." in response.content.decode()
    assert engine.opened == []
    assert AuditEntry.objects.count() == audits
    assert not EngineProfile.objects.exists()


def test_it_tests_a_forward_service_over_a_real_websocket(as_admin):
    with ForwardStandIn(TOKEN, answer=True).running() as standin:
        data = {
            "name": "Own ASR",
            "kind": "forward",
            "url": standin.url,
            "token": TOKEN,
            "mode": "mix",
            "results": "on",
        }
        response = as_admin.post(CREATE_TEST, data, headers=HTMX)
    words = words_of(response.content.decode())
    assert "These settings work." in words, words
    assert TOKEN not in response.content.decode()
    assert standin.violations == []
    assert not EngineProfile.objects.exists()
