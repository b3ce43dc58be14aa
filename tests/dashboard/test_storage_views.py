from __future__ import annotations

import re

import pytest
from django.urls import reverse

from egress_app import actions
from egress_app.models import AuditAction, AuditEntry, EgressJob, EgressStatus, StorageProfile
from egress_app.storage.providers import PROVIDERS
from tests.dashboard.test_home import text_of

pytestmark = pytest.mark.django_db

LIST = reverse("dashboard-storage-list")
CREATE = reverse("dashboard-storage-create")
FIELDS = reverse("dashboard-storage-fields")

ACCESS_KEY = "AKIAVIEWTESTKEY0001"
SECRET = "view-test-secret-value-9f8e7d"
S3_FORM = {
    "name": "Recordings",
    "provider": "s3",
    "bucket": "egress-recordings",
    "region": "eu-west-1",
    "access_key": ACCESS_KEY,
    "secret": SECRET,
}


def make_profile(name: str = "Main bucket", **secrets: str) -> StorageProfile:
    return actions.create_storage_profile(
        None,
        name=name,
        provider="s3",
        config={"bucket": "main-bucket", "region": "us-east-1"},
        secrets={"access_key": ACCESS_KEY, "secret": SECRET, **secrets},
    )


def field_html(html: str, name: str) -> str:
    """The markup of one field (label, errors, input, help) of a rendered form."""
    return html.split(f'data-field="{name}"')[1].split('<div class="field')[0]


def url_of(name: str, profile: StorageProfile | None) -> str:
    return reverse(name, args=[profile.pk]) if profile else reverse(name)


@pytest.fixture
def as_admin(client, admin):
    client.force_login(admin)
    return client


@pytest.fixture
def profile(db) -> StorageProfile:
    return make_profile()


# --- who may open what ----------------------------------------------------------------------

PAGES = [
    ("dashboard-storage-list", False, ""),
    ("dashboard-storage-create", False, ""),
    ("dashboard-storage-fields", False, "?provider=s3"),
    ("dashboard-storage-edit", True, ""),
    ("dashboard-storage-duplicate", True, ""),
    ("dashboard-storage-delete", True, ""),
]
POSTS = [
    ("dashboard-storage-create", False),
    ("dashboard-storage-edit", True),
    ("dashboard-storage-duplicate", True),
    ("dashboard-storage-delete", True),
    ("dashboard-storage-default", True),
    ("dashboard-storage-test", True),
]


@pytest.mark.parametrize(("name", "needs_pk"), [(n, p) for n, p, _ in PAGES] + POSTS)
def test_it_sends_anonymous_visitors_to_the_login_page(client, profile, name, needs_pk):
    url = url_of(name, profile if needs_pk else None)
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize("persona", ["producer", "support", "outsider"])
@pytest.mark.parametrize(("name", "needs_pk", "query"), PAGES)
def test_it_refuses_every_other_role_each_page(
    client, request, profile, persona, name, needs_pk, query
):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(url_of(name, profile if needs_pk else None) + query)
    assert response.status_code == 403
    assert "You don't have access to this page" in text_of(response)


@pytest.mark.parametrize("persona", ["producer", "support", "outsider"])
@pytest.mark.parametrize(("name", "needs_pk"), POSTS)
def test_it_refuses_every_other_role_each_change(client, request, profile, persona, name, needs_pk):
    client.force_login(request.getfixturevalue(persona))
    entries = AuditEntry.objects.count()
    response = client.post(url_of(name, profile if needs_pk else None), S3_FORM)
    assert response.status_code == 403
    assert list(StorageProfile.objects.values_list("name", flat=True)) == ["Main bucket"]
    assert AuditEntry.objects.count() == entries


@pytest.mark.parametrize(("name", "needs_pk", "query"), PAGES)
def test_it_opens_every_page_for_an_admin(as_admin, profile, name, needs_pk, query):
    assert as_admin.get(url_of(name, profile if needs_pk else None) + query).status_code == 200


@pytest.mark.parametrize("name", ["dashboard-storage-default", "dashboard-storage-test"])
def test_it_changes_nothing_on_a_get(as_admin, profile, name):
    assert as_admin.get(reverse(name, args=[profile.pk])).status_code == 405


def test_it_answers_404_for_an_unknown_profile(as_admin):
    assert as_admin.get(reverse("dashboard-storage-edit", args=[999])).status_code == 404


@pytest.mark.parametrize(
    ("persona", "shown"), [("admin", True), ("producer", False), ("support", False)]
)
def test_it_links_the_page_from_the_nav_only_for_admins(client, request, persona, shown):
    client.force_login(request.getfixturevalue(persona))
    html = client.get(reverse("dashboard-home")).content.decode()
    nav = html.split('<nav aria-label="Main">')[1].split("</nav>")[0]
    assert (f'href="{LIST}"' in nav) is shown
    assert ('href="/destinations/"' in nav) is shown
    assert ('href="/audit/"' in nav) is (persona != "producer")  # support: the job entries


# --- the list -------------------------------------------------------------------------------


def test_it_says_what_to_do_when_there_is_no_profile(as_admin):
    words = text_of(as_admin.get(LIST))
    assert "No storage profiles yet. Add one so producers can record to your bucket." in words


def test_it_lists_each_profile_with_its_provider_target_test_and_jobs(as_admin, profile):
    other = actions.create_storage_profile(
        None,
        name="Archive",
        provider="azure",
        config={"account_name": "egressarchive", "container_name": "recordings"},
        secrets={"account_key": "azure-key-value-123456"},
    )
    EgressJob.objects.create(egress_id="EG_1", kind="room_composite", storage_profile=other)
    EgressJob.objects.create(egress_id="EG_2", kind="room_composite", storage_profile=other)
    html = as_admin.get(LIST).content.decode()
    main = text_of_html(html.split('data-profile="Main bucket"')[1].split("</tbody>")[0])
    assert "Main bucket default Amazon S3 or S3-compatible main-bucket Never tested 0" in main
    archive = text_of_html(html.split('data-profile="Archive"')[1].split("</tbody>")[0])
    assert "Archive Azure Blob Storage egressarchive/recordings Never tested 2" in archive
    assert "Make default Archive" in archive
    assert "Make default" not in main


def text_of_html(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_it_shows_the_last_test_result_on_the_list(as_admin, profile):
    class Failed:
        ok, message = False, "the secret does not match the access key; check the secret"

    actions.record_storage_test(None, profile, Failed())
    html = as_admin.get(LIST).content.decode()
    cell = html.split(f'id="last-test-{profile.pk}"')[1].split("</span>\n</span>")[0]
    assert "✗ Failed" in cell
    assert "<time datetime=" in cell
    assert "the secret does not match the access key" in cell


class FailedTest:
    ok, message = False, "the bucket does not exist"


class PassedTest:
    ok, message = True, "wrote, read and deleted a probe"


def test_it_warns_when_the_default_profiles_last_test_failed(as_admin):
    profile = make_profile()
    actions.make_default_storage_profile(None, profile)
    actions.record_storage_test(None, profile, FailedTest())
    html = as_admin.get(LIST).content.decode()
    alert = html.split('class="message error" role="alert">')[1].split("</p>")[0]
    assert "The default profile, Main bucket, failed its last test" in alert
    assert "Launch preselects it" in alert


def test_it_does_not_warn_of_a_default_that_passed_or_a_failed_other(as_admin):
    default, other = make_profile(), make_profile("Other")
    actions.make_default_storage_profile(None, default)
    actions.record_storage_test(None, default, PassedTest())
    actions.record_storage_test(None, other, FailedTest())
    assert 'role="alert"' not in as_admin.get(LIST).content.decode()


def test_it_pins_the_query_count_of_the_list(as_admin, django_assert_num_queries):
    for number in range(5):
        profile = make_profile(f"Profile {number}")
        EgressJob.objects.create(egress_id=f"EG_{number}", kind="track", storage_profile=profile)
    # Session, user, the user's and their groups' permissions, the profiles with their job count.
    with django_assert_num_queries(6):
        response = as_admin.get(LIST)
    assert text_of(response).count("Never tested") == 5


# --- the form and the provider fieldset ------------------------------------------------------


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_it_renders_the_fieldset_of_each_provider(as_admin, provider):
    response = as_admin.get(f"{FIELDS}?provider={provider}")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith('<fieldset id="provider-fields"')
    assert "<html" not in html
    spec = PROVIDERS[provider]
    assert f"<legend>{spec.label} settings</legend>" in html
    for field in spec.fields:
        markup = field_html(html, field.name)
        assert f'<label for="id_{field.name}">{field.label}' in markup
        assert f'id="id_{field.name}"' in markup
        assert ('aria-hidden="true">*</span>' in markup) is field.required
        if field.secret and field.kind == "json":
            assert "<textarea" in markup
        elif field.secret:
            assert 'type="password"' in markup
        elif field.kind == "bool":
            assert 'type="checkbox"' in markup
        elif field.kind == "url":
            assert 'type="url"' in markup
        elif field.kind == "keyvalue":
            assert "<textarea" in markup


def test_it_refuses_an_unknown_provider_fieldset(as_admin):
    assert as_admin.get(f"{FIELDS}?provider=ftp").status_code == 400


def test_it_swaps_the_fieldset_when_the_provider_changes(as_admin):
    html = as_admin.get(CREATE).content.decode()
    select = field_html(html, "provider")
    assert f'hx-get="{FIELDS}"' in select
    assert 'hx-target="#provider-fields"' in select
    assert 'hx-swap="outerHTML"' in select
    assert 'data-provider="s3"' in html


def test_it_opens_the_form_on_the_provider_asked_for(as_admin):
    html = as_admin.get(f"{CREATE}?provider=gcp").content.decode()
    assert 'data-provider="gcp"' in html
    assert 'name="credentials"' in html


# --- create ---------------------------------------------------------------------------------


def test_it_creates_a_profile(as_admin, admin):
    data = S3_FORM | {"force_path_style": "on", "metadata": "team=video\nshow=daily"}
    response = as_admin.post(CREATE, data | {"path_template": "recordings/{room_name}"})
    profile = StorageProfile.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard-storage-edit", args=[profile.pk])
    assert profile.name == "Recordings"
    assert profile.config["bucket"] == "egress-recordings"
    assert profile.config["force_path_style"] is True
    assert profile.config["metadata"] == {"team": "video", "show": "daily"}
    assert profile.path_template == "recordings/{room_name}"
    assert profile.secrets() == {"access_key": ACCESS_KEY, "secret": SECRET}
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.target_name) == (
        AuditAction.CREATED,
        admin,
        "Recordings",
    )
    words = text_of(as_admin.get(response["Location"]))
    assert "Added Recordings. Test it to check uploads work." in words


def test_it_puts_each_error_next_to_its_field_and_writes_nothing(as_admin):
    data = S3_FORM | {"bucket": "Bad_Bucket", "region": "mars", "tagging": "broken"}
    response = as_admin.post(CREATE, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Please correct the fields marked below." in text_of(response)
    bucket = field_html(html, "bucket")
    assert "Use only lowercase letters, digits, dots (.) and hyphens (-)." in bucket
    assert 'aria-invalid="true"' in bucket
    assert 'aria-describedby="id_bucket_error"' in bucket
    assert 'value="Bad_Bucket"' in bucket
    assert "AWS regions look like us-east-1" in field_html(html, "region")
    assert "Write tags as key=value pairs" in field_html(html, "tagging")
    assert 'value="Recordings"' in field_html(html, "name")
    # What the user typed comes back, except the secrets.
    assert ACCESS_KEY not in html
    assert SECRET not in html
    assert StorageProfile.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_it_requires_the_secrets_of_a_new_profile(as_admin):
    response = as_admin.post(CREATE, S3_FORM | {"access_key": "", "secret": ""})
    html = response.content.decode()
    assert "This field is required." in field_html(html, "access_key")
    assert "This field is required." in field_html(html, "secret")
    assert StorageProfile.objects.count() == 0


def test_it_refuses_a_name_already_taken(as_admin, profile):
    response = as_admin.post(CREATE, S3_FORM | {"name": "main BUCKET"})
    assert "There is already a storage profile called main BUCKET." in field_html(
        response.content.decode(), "name"
    )
    assert StorageProfile.objects.count() == 1


def test_it_refuses_an_unknown_provider(as_admin):
    response = as_admin.post(CREATE, S3_FORM | {"provider": "ftp"})
    assert "Select a valid choice." in field_html(response.content.decode(), "provider")
    assert StorageProfile.objects.count() == 0


def test_it_explains_bad_service_account_json_on_its_field(as_admin):
    data = {"name": "GCS", "provider": "gcp", "bucket": "egress-gcs", "credentials": "{not json"}
    html = as_admin.post(CREATE, data).content.decode()
    assert "this is not valid JSON" in field_html(html, "credentials")
    assert "{not json" not in html


# --- edit -----------------------------------------------------------------------------------


def edit_form(profile: StorageProfile, **changes: str) -> dict[str, str]:
    data = {"name": profile.name, "path_template": profile.path_template}
    data |= {k: v for k, v in profile.config.items() if isinstance(v, str)}
    return data | changes


def test_it_shows_hints_of_the_stored_secrets_never_their_values(as_admin, profile):
    html = as_admin.get(reverse("dashboard-storage-edit", args=[profile.pk])).content.decode()
    secret = field_html(html, "secret")
    assert f"Stored: ••••{SECRET[-4:]}. Leave empty to keep it." in secret
    assert 'type="password"' in secret
    assert "value=" not in secret.split("<input")[1].split(">")[0]
    assert "required" not in secret.split("<input")[1].split(">")[0]
    assert 'name="clear_secret"' in field_html(html, "clear_secret")
    assert "Replace (clear the stored value)" in field_html(html, "clear_secret")
    assert SECRET not in html
    assert ACCESS_KEY not in html
    # The provider is fixed once the profile exists.
    assert "disabled" in field_html(html, "provider")


def test_it_keeps_the_secrets_when_left_empty(as_admin, profile, admin):
    response = as_admin.post(
        reverse("dashboard-storage-edit", args=[profile.pk]),
        edit_form(profile, name="Main renamed", bucket="other-bucket"),
    )
    assert response.status_code == 302
    profile.refresh_from_db()
    assert (profile.name, profile.config["bucket"]) == ("Main renamed", "other-bucket")
    assert profile.secrets() == {"access_key": ACCESS_KEY, "secret": SECRET}
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.actor) == (AuditAction.CHANGED, admin)
    assert entry.changed_fields == ["name", "bucket"]


def test_it_replaces_a_secret_with_a_new_value(as_admin, profile):
    as_admin.post(
        reverse("dashboard-storage-edit", args=[profile.pk]),
        edit_form(profile, secret="brand-new-secret-0000", clear_secret="on"),
    )
    profile.refresh_from_db()
    assert profile.secrets() == {"access_key": ACCESS_KEY, "secret": "brand-new-secret-0000"}
    assert "secret (replaced)" in AuditEntry.objects.latest("id").changed_fields


def test_it_clears_a_secret_when_asked(as_admin):
    profile = make_profile(session_token="session-token-to-drop-1234")
    as_admin.post(
        reverse("dashboard-storage-edit", args=[profile.pk]),
        edit_form(profile, clear_session_token="on"),
    )
    profile.refresh_from_db()
    assert profile.secrets() == {"access_key": ACCESS_KEY, "secret": SECRET}
    assert "session_token (removed)" in AuditEntry.objects.latest("id").changed_fields


def test_it_refuses_to_clear_a_required_secret_without_a_new_one(as_admin, profile):
    entries = AuditEntry.objects.count()
    response = as_admin.post(
        reverse("dashboard-storage-edit", args=[profile.pk]), edit_form(profile, clear_secret="on")
    )
    assert response.status_code == 200
    assert "Secret access key is required." in field_html(response.content.decode(), "secret")
    profile.refresh_from_db()
    assert profile.secrets()["secret"] == SECRET
    assert AuditEntry.objects.count() == entries


def test_it_rerenders_an_edit_with_errors_and_changes_nothing(as_admin, profile):
    response = as_admin.post(
        reverse("dashboard-storage-edit", args=[profile.pk]),
        edit_form(profile, bucket="x", secret="typed-but-not-saved-5555"),
    )
    html = response.content.decode()
    assert "Bucket names are 3 to 63 characters long." in field_html(html, "bucket")
    assert "typed-but-not-saved-5555" not in html
    profile.refresh_from_db()
    assert profile.config["bucket"] == "main-bucket"
    assert profile.secrets()["secret"] == SECRET


def test_it_keeps_the_provider_of_an_existing_profile(as_admin, profile):
    as_admin.post(
        reverse("dashboard-storage-edit", args=[profile.pk]), edit_form(profile, provider="gcp")
    )
    profile.refresh_from_db()
    assert profile.provider == "s3"


def test_it_makes_a_profile_the_default_from_its_form(as_admin, profile):
    other = make_profile("Second")
    as_admin.post(
        reverse("dashboard-storage-edit", args=[other.pk]), edit_form(other, is_default="on")
    )
    other.refresh_from_db()
    profile.refresh_from_db()
    assert (other.is_default, profile.is_default) == (True, False)


# --- duplicate, default, delete ---------------------------------------------------------------


def test_it_asks_for_the_name_of_a_duplicate(as_admin, profile):
    html = as_admin.get(reverse("dashboard-storage-duplicate", args=[profile.pk])).content.decode()
    assert 'value="Main bucket (copy)"' in field_html(html, "name")


def test_it_duplicates_a_profile_with_its_secrets(as_admin, profile):
    response = as_admin.post(
        reverse("dashboard-storage-duplicate", args=[profile.pk]), {"name": "Main copy"}
    )
    copy = StorageProfile.objects.get(name="Main copy")
    assert response["Location"] == reverse("dashboard-storage-edit", args=[copy.pk])
    assert copy.config == profile.config
    assert copy.secrets() == profile.secrets()
    assert not copy.is_default
    assert AuditEntry.objects.latest("id").action == AuditAction.DUPLICATED


def test_it_refuses_a_duplicate_under_a_taken_name(as_admin, profile):
    response = as_admin.post(
        reverse("dashboard-storage-duplicate", args=[profile.pk]), {"name": "Main bucket"}
    )
    assert response.status_code == 200
    assert "There is already a storage profile called Main bucket." in field_html(
        response.content.decode(), "name"
    )
    assert StorageProfile.objects.count() == 1


def test_it_makes_a_profile_the_default(as_admin, profile):
    other = make_profile("Second")
    response = as_admin.post(reverse("dashboard-storage-default", args=[other.pk]))
    assert response["Location"] == LIST
    other.refresh_from_db()
    assert other.is_default
    assert "Second is now the default storage profile." in text_of(as_admin.get(LIST))


def test_it_asks_before_deleting(as_admin, profile):
    EgressJob.objects.create(
        egress_id="EG_old", kind="track", status=EgressStatus.COMPLETE, storage_profile=profile
    )
    response = as_admin.get(reverse("dashboard-storage-delete", args=[profile.pk]))
    words = text_of(response)
    assert "Delete the storage profile Main bucket?" in words
    assert "1 past job used it: they keep their history." in words
    assert StorageProfile.objects.count() == 1


def test_it_deletes_a_profile(as_admin, profile, admin):
    response = as_admin.post(reverse("dashboard-storage-delete", args=[profile.pk]))
    assert response["Location"] == LIST
    assert StorageProfile.objects.count() == 0
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.actor, entry.target_name) == (
        AuditAction.DELETED,
        admin,
        "Main bucket",
    )


def test_it_refuses_to_delete_a_profile_a_running_job_uses(as_admin, profile):
    EgressJob.objects.create(
        egress_id="EG_running", kind="track", status=EgressStatus.ACTIVE, storage_profile=profile
    )
    response = as_admin.post(reverse("dashboard-storage-delete", args=[profile.pk]))
    assert response.status_code == 409
    words = text_of(response)
    assert "Not deleted" in words
    assert "“Main bucket” cannot be deleted while a running job" in words
    assert "(EG_running)" in words
    assert StorageProfile.objects.count() == 1


# --- test connection ----------------------------------------------------------------------------


def profile_from(storage: dict, name: str = "Moto", **secrets: str) -> StorageProfile:
    return actions.create_storage_profile(
        None,
        name=name,
        provider=storage["provider"],
        config=storage["config"],
        secrets=storage["secrets"] | secrets,
    )


def test_it_tests_a_working_connection(as_admin, admin, s3_storage):
    profile = profile_from(s3_storage)
    response = as_admin.post(
        reverse("dashboard-storage-test", args=[profile.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert 'class="test-result ok"' in html
    words = text_of(response)
    assert "Moto: the connection works." in words
    for step in ("Connect", "Write", "Read", "Delete"):
        mark = r'<li class="ok">\s*<span class="mark" aria-hidden="true">✓</span>'
        assert re.search(rf"{mark}.*?<strong>{step}</strong>", html, re.S)
    assert re.search(r"\d+ ms", words)
    # The list row's last-test cell is swapped out of band.
    assert f'id="last-test-{profile.pk}" class="last-test" hx-swap-oob="true"' in html
    profile.refresh_from_db()
    assert profile.last_test_ok is True
    assert profile.last_tested_at is not None
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.actor, entry.outcome) == (AuditAction.TESTED, admin, "ok")


def test_it_explains_a_failing_connection(as_admin, s3_storage):
    profile = profile_from(s3_storage, secret="not-the-right-secret-1234")
    response = as_admin.post(
        reverse("dashboard-storage-test", args=[profile.pk]), headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert 'class="test-result failed"' in html
    words = text_of(response)
    assert "Moto: the connection failed." in words
    assert "the secret does not match the access key; check the secret" in words
    assert "Read skipped" in words
    assert '<li class="failed">' in html
    assert "not-the-right-secret-1234" not in html
    profile.refresh_from_db()
    assert profile.last_test_ok is False
    assert "the secret does not match" in profile.last_test_message
    assert AuditEntry.objects.latest("id").outcome.startswith("failed: ")


def test_it_shows_the_result_on_the_edit_page_without_javascript(as_admin, s3_storage):
    profile = profile_from(s3_storage)
    response = as_admin.post(reverse("dashboard-storage-test", args=[profile.pk]))
    assert response.status_code == 200
    words = text_of(response)
    assert "Edit Moto" in words
    assert "Moto: the connection works." in words
    assert "hx-swap-oob" not in response.content.decode()


def test_it_shows_progress_and_disables_the_button_while_testing(as_admin, profile):
    for url in (LIST, reverse("dashboard-storage-edit", args=[profile.pk])):
        html = as_admin.get(url).content.decode()
        form = html.split(f'action="{reverse("dashboard-storage-test", args=[profile.pk])}"')[1]
        form = form.split("</form>")[0]
        assert f'hx-post="{reverse("dashboard-storage-test", args=[profile.pk])}"' in form
        assert f'hx-indicator="#test-progress-{profile.pk}"' in form
        assert 'hx-disabled-elt="find button"' in form
        progress = html.split(f'id="test-progress-{profile.pk}"')[1].split("</p>")[0]
        assert 'class="htmx-indicator test-progress"' in progress
        assert "Testing: writing a probe object, reading it back, deleting it…" in progress
        assert f'id="test-result-{profile.pk}"' in html
        assert f'id="last-test-{profile.pk}"' in html
