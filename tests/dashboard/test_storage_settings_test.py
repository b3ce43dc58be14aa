"""Test these settings: a storage profile's Test on the form's values, before saving (issue 16, §3).

Every probe here runs against a real emulator (tests/emulators.py): moto's S3 server, Azurite, the
GCS emulator and the OSS stand-in.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.forms.models import model_to_dict
from django.urls import reverse

from egress_app import actions
from egress_app.models import AuditAction, AuditEntry, AuditTarget, StorageProfile
from egress_app.storage.providers import PROVIDERS
from tests.dashboard.test_home import text_of

pytestmark = pytest.mark.django_db

CREATE = reverse("dashboard-storage-create")
CREATE_TEST = reverse("dashboard-storage-create-test")
WRONG_SECRET = "typed-but-wrong-secret-5e4d3c2b1a"
HTMX = {"HX-Request": "true"}


def form_data(storage: dict[str, Any], name: str = "Moto", **changes: str) -> dict[str, str]:
    """What the add form posts for an emulator's working settings (tests/emulators.py)."""
    values = storage["config"] | storage["secrets"]
    data = {"name": name, "provider": storage["provider"]}
    for field in PROVIDERS[storage["provider"]].fields:
        value = values.get(field.name, "")
        if field.kind == "bool":
            if value:
                data[field.name] = "on"
        elif isinstance(value, dict):
            data[field.name] = "\n".join(f"{k}={v}" for k, v in value.items())
        else:
            data[field.name] = str(value)
    return data | changes


def saved(storage: dict[str, Any], name: str = "Moto", **secrets: str) -> StorageProfile:
    return actions.create_storage_profile(
        None,
        name=name,
        provider=storage["provider"],
        config=storage["config"],
        secrets=storage["secrets"] | secrets,
    )


def edit_test_url(profile: StorageProfile) -> str:
    return reverse("dashboard-storage-edit-test", args=[profile.pk])


def blank_secrets(data: dict[str, str], provider: str) -> dict[str, str]:
    return data | {field.name: "" for field in PROVIDERS[provider].secret_fields}


def input_value(html: str, name: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert match, name
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else None


@pytest.fixture
def as_admin(client, admin):
    client.force_login(admin)
    return client


@pytest.fixture
def profile(db) -> StorageProfile:
    return actions.create_storage_profile(
        None,
        name="Main bucket",
        provider="s3",
        config={"bucket": "main-bucket", "region": "us-east-1"},
        secrets={"access_key": "AKIASETTINGSTEST0001", "secret": "stored-secret-value-77"},
    )


# --- who may test ---------------------------------------------------------------------------


def urls(profile: StorageProfile) -> list[str]:
    return [CREATE_TEST, edit_test_url(profile)]


def test_it_sends_anonymous_visitors_to_the_login_page(client, profile):
    for url in urls(profile):
        response = client.post(url, {"name": "x", "provider": "s3"})
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    assert not AuditEntry.objects.filter(outcome__startswith="unsaved").exists()


@pytest.mark.parametrize("persona", ["producer", "support", "outsider"])
def test_it_refuses_every_other_role(client, request, profile, persona):
    client.force_login(request.getfixturevalue(persona))
    for url in urls(profile):
        assert client.post(url, {"name": "x", "provider": "s3"}).status_code == 403
    assert not AuditEntry.objects.filter(outcome__startswith="unsaved").exists()


def test_it_tests_nothing_on_a_get(as_admin, profile):
    for url in urls(profile):
        assert as_admin.get(url).status_code == 405


def test_it_answers_404_for_an_unknown_profile(as_admin):
    url = reverse("dashboard-storage-edit-test", args=[999])
    assert as_admin.post(url, {"name": "x"}).status_code == 404


# --- the button -----------------------------------------------------------------------------


def test_it_offers_the_button_with_progress_on_the_add_and_edit_forms(as_admin, profile):
    for page, test_url in (
        (CREATE, CREATE_TEST),
        (reverse("dashboard-storage-edit", args=[profile.pk]), edit_test_url(profile)),
    ):
        html = as_admin.get(page).content.decode()
        form = html.split('id="profile-form"')[1].split("</form>")[0]
        button = form.split(f'formaction="{test_url}"')[1].split("</button>")[0]
        assert f'hx-post="{test_url}"' in button
        assert 'hx-target="#settings-test-result"' in button
        assert 'hx-indicator="#settings-test-progress"' in button
        assert 'hx-disabled-elt="this"' in button
        assert button.strip().endswith("Test these settings")
        progress = form.split('id="settings-test-progress"')[1].split("</p>")[0]
        assert "htmx-indicator test-progress" in progress
        assert "(at most 20 s)" in progress
        assert 'id="settings-test-result"' in form
    assert "save your changes first" not in html


# --- a new profile --------------------------------------------------------------------------


def test_it_passes_good_s3_settings_before_saving(as_admin, admin, s3_storage):
    audits = AuditEntry.objects.count()
    response = as_admin.post(CREATE_TEST, form_data(s3_storage), headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert "hx-swap-oob" not in html
    assert 'class="test-result ok"' in html
    words = text_of(response)
    assert "These settings work. Wrote, read back and deleted a probe object" in words
    for step in ("Connect", "Write", "Read", "Delete"):
        assert re.search(rf'<li class="ok">.*?<strong>{step}</strong>', html, re.S)
    assert "Nothing was saved: save to keep these settings." in words
    assert not StorageProfile.objects.exists()
    assert AuditEntry.objects.count() == audits + 1
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.actor, entry.target_type) == (
        AuditAction.TESTED,
        admin,
        AuditTarget.STORAGE_PROFILE,
    )
    assert (entry.target_id, entry.target_name) == (None, "Moto")
    bucket = s3_storage["config"]["bucket"]
    assert entry.outcome == f"unsaved settings (Amazon S3 or S3-compatible · {bucket}): ok"


def test_it_fails_a_wrong_secret_in_the_providers_words_never_showing_it(as_admin, s3_storage):
    data = form_data(s3_storage, secret=WRONG_SECRET)
    for headers in (HTMX, {}):
        response = as_admin.post(CREATE_TEST, data, headers=headers)
        html = response.content.decode()
        assert 'class="test-result failed"' in html
        words = text_of(response)
        assert "These settings failed." in words
        assert "the secret does not match the access key; check the secret" in words
        assert "Read skipped" in words
        assert WRONG_SECRET not in html
    assert not StorageProfile.objects.exists()
    entry = AuditEntry.objects.latest("id")
    assert entry.outcome.startswith("unsaved settings (Amazon S3 or S3-compatible · ")
    assert "): failed: " in entry.outcome
    assert WRONG_SECRET not in entry.outcome


def test_it_shows_the_form_with_the_result_without_javascript(as_admin, s3_storage):
    response = as_admin.post(CREATE_TEST, form_data(s3_storage))
    assert response.status_code == 200
    html = response.content.decode()
    words = text_of(response)
    assert "Add a storage profile" in words
    assert "These settings work." in words
    # The form keeps what was typed, but no secret comes back to the browser.
    assert input_value(html, "bucket") == s3_storage["config"]["bucket"]
    assert input_value(html, "endpoint") == s3_storage["config"]["endpoint"]
    assert input_value(html, "secret") is None
    assert s3_storage["secrets"]["secret"] not in html
    assert not StorageProfile.objects.exists()


@pytest.mark.parametrize("headers", [HTMX, {}])
def test_it_shows_field_errors_and_runs_no_probe(as_admin, s3_storage, headers):
    data = form_data(s3_storage, name="", bucket="", secret=WRONG_SECRET)
    audits = AuditEntry.objects.count()
    response = as_admin.post(CREATE_TEST, data, headers=headers)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Please correct the fields marked below." in html
    assert "This field is required." in html.split('data-field="bucket"')[1]
    assert "data-test-result" not in html
    assert WRONG_SECRET not in html
    if headers:
        assert (response["HX-Retarget"], response["HX-Reswap"]) == ("#profile-form", "outerHTML")
        assert html.lstrip().startswith('<form method="post" id="profile-form"')
    assert AuditEntry.objects.count() == audits
    assert not StorageProfile.objects.exists()


@pytest.mark.parametrize("fixture", ["azure_storage", "gcs_storage", "alioss_storage"])
def test_it_passes_good_settings_of_every_provider(as_admin, request, fixture):
    storage = request.getfixturevalue(fixture)
    response = as_admin.post(CREATE_TEST, form_data(storage), headers=HTMX)
    words = text_of(response)
    assert "These settings work." in words, words
    assert not StorageProfile.objects.exists()


# --- an edit --------------------------------------------------------------------------------


def unchanged(profile: StorageProfile) -> None:
    before = model_to_dict(profile) | {"updated_at": profile.updated_at}
    fresh = StorageProfile.objects.get(pk=profile.pk)
    assert model_to_dict(fresh) | {"updated_at": fresh.updated_at} == before


def test_it_tests_an_edit_with_the_stored_secret_when_left_blank(as_admin, admin, s3_storage):
    profile = saved(s3_storage)
    data = blank_secrets(form_data(s3_storage, name="Moto renamed"), "s3")
    response = as_admin.post(edit_test_url(profile), data, headers=HTMX)
    words = text_of(response)
    assert "These settings work." in words, words
    assert s3_storage["secrets"]["secret"] not in response.content.decode()
    unchanged(profile)
    assert profile.last_tested_at is None  # a saved profile's last test is of its saved settings
    entry = AuditEntry.objects.latest("id")
    assert (entry.target_id, entry.target_name, entry.actor) == (profile.pk, "Moto", admin)
    assert entry.outcome.startswith("unsaved settings (")


def test_it_tests_an_edit_with_the_values_typed_not_the_saved_ones(as_admin, s3_storage):
    profile = saved(s3_storage, secret=WRONG_SECRET)  # saved broken, fixed in the form
    data = form_data(s3_storage)
    response = as_admin.post(edit_test_url(profile), data, headers=HTMX)
    assert "These settings work." in text_of(response)
    unchanged(profile)
    assert profile.secrets()["secret"] == WRONG_SECRET
    # And the other way round: a bucket typed wrong fails though the saved one works.
    data = blank_secrets(form_data(s3_storage, bucket="no-such-bucket-here"), "s3")
    response = as_admin.post(edit_test_url(profile), data, headers=HTMX)
    assert "These settings failed." in text_of(response)
    unchanged(profile)


def test_it_never_echoes_a_typed_secret_on_an_edit_without_javascript(as_admin, s3_storage):
    profile = saved(s3_storage)
    data = form_data(s3_storage, secret=WRONG_SECRET, path_template="recordings/{room_name}")
    response = as_admin.post(edit_test_url(profile), data)
    html = response.content.decode()
    words = text_of(response)
    assert "Edit Moto" in words
    assert "These settings failed." in words
    assert WRONG_SECRET not in html
    assert input_value(html, "secret") is None
    assert input_value(html, "path_template") == "recordings/{room_name}"
    unchanged(profile)


def test_it_shows_the_errors_save_would_give_and_changes_nothing(as_admin, s3_storage):
    profile = saved(s3_storage)
    saved(s3_storage, name="Other")
    data = blank_secrets(form_data(s3_storage, name="other", path_template="{nope}"), "s3")
    audits = AuditEntry.objects.count()
    response = as_admin.post(edit_test_url(profile), data, headers=HTMX)
    assert response["HX-Retarget"] == "#profile-form"
    html = response.content.decode()
    assert "Please correct the fields marked below." in html
    assert "Unknown placeholder {nope}" in html.split('data-field="path_template"')[1]
    assert "There is already a storage profile called other" in html.split('data-field="name"')[1]
    assert AuditEntry.objects.count() == audits
    unchanged(profile)
