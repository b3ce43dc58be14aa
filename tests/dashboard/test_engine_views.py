"""The admins' engine profile pages (issue 15, section 1)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from egress_app import actions
from egress_app.models import (
    AudioSession,
    AudioSessionState,
    AuditAction,
    AuditEntry,
    AuditTarget,
    EngineProfile,
    Transcription,
)
from egress_app.transcribe.kinds import FIELDS
from tests.dashboard.test_home import text_of
from tests.transcribe.listener import listening
from tests.transcribe.standins import ForwardStandIn

pytestmark = pytest.mark.django_db

LIST = reverse("dashboard-engine-list")
CREATE = reverse("dashboard-engine-create")
KIND_FIELDS = reverse("dashboard-engine-fields")

API_KEY = "gladia-view-test-key-7c1d2e3f"
GLADIA_FORM = {
    "name": "Gladia EU",
    "kind": "gladia",
    "api_key": API_KEY,
    "region": "eu-west",
    "model": "solaria-1",
    "languages": "en, fr",
}


def make_profile(name: str = "Gladia", key: str = API_KEY, **config: object) -> EngineProfile:
    return actions.create_engine_profile(
        None,
        name=name,
        kind="gladia",
        config={"model": "solaria-1", **config},
        secrets={"api_key": key},
    )


def field_html(html: str, name: str) -> str:
    """The markup of one field (label, errors, input, help) of a rendered form."""
    return html.split(f'data-field="{name}"')[1].split('<div class="field')[0]


def words_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def url_of(name: str, profile: EngineProfile | None) -> str:
    return reverse(name, args=[profile.pk]) if profile else reverse(name)


def edit_form(profile: EngineProfile, **changes: str) -> dict[str, str]:
    """The edit form as a browser posts it back unchanged (the stored values as initial)."""
    return {
        "name": profile.name,
        "model": "solaria-1",
        "region": "",
        "endpointing": "0.3",
    } | changes


@pytest.fixture
def as_admin(client, admin):
    client.force_login(admin)
    return client


@pytest.fixture
def profile(db) -> EngineProfile:
    return make_profile()


# --- who may open what ----------------------------------------------------------------------
PAGES = [
    ("dashboard-engine-create", False, ""),
    ("dashboard-engine-fields", False, "?kind=deepgram"),
    ("dashboard-engine-edit", True, ""),
    ("dashboard-engine-delete", True, ""),
]
POSTS = [
    ("dashboard-engine-create", False),
    ("dashboard-engine-edit", True),
    ("dashboard-engine-delete", True),
    ("dashboard-engine-default", True),
    ("dashboard-engine-test", True),
]


@pytest.mark.parametrize(
    ("name", "needs_pk"), [(n, p) for n, p, _ in PAGES] + POSTS + [("dashboard-engine-list", False)]
)
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
    assert API_KEY not in response.content.decode()


@pytest.mark.parametrize("persona", ["producer", "support", "outsider"])
@pytest.mark.parametrize(("name", "needs_pk"), POSTS)
def test_it_refuses_every_other_role_each_change(client, request, profile, persona, name, needs_pk):
    client.force_login(request.getfixturevalue(persona))
    entries = AuditEntry.objects.count()
    with listening():
        response = client.post(url_of(name, profile if needs_pk else None), GLADIA_FORM)
    assert response.status_code == 403
    assert list(EngineProfile.objects.values_list("name", flat=True)) == ["Gladia"]
    assert AuditEntry.objects.count() == entries
    profile.refresh_from_db()
    assert profile.last_tested_at is None


def test_it_refuses_the_names_to_someone_without_a_role(client, outsider, profile):
    client.force_login(outsider)
    assert client.get(LIST).status_code == 403


@pytest.mark.parametrize("persona", ["producer", "support"])
def test_it_shows_producers_and_support_the_names_only(client, request, profile, persona):
    make_profile("Deepgram nova", key="deepgram-secret-key-42", region="us-west")
    client.force_login(request.getfixturevalue(persona))
    response = client.get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    main = html.split("<main")[1]
    assert "Gladia default" in words_of(main)
    assert "Deepgram nova" in main
    for hidden in (API_KEY, "deepgram-secret-key-42", "solaria-1", "us-west", "Test", "Edit"):
        assert hidden not in main
    assert reverse("dashboard-engine-edit", args=[profile.pk]) not in html


@pytest.mark.parametrize(("name", "needs_pk", "query"), PAGES)
def test_it_opens_every_page_for_an_admin(as_admin, profile, name, needs_pk, query):
    assert as_admin.get(url_of(name, profile if needs_pk else None) + query).status_code == 200


@pytest.mark.parametrize("name", ["dashboard-engine-default", "dashboard-engine-test"])
def test_it_changes_nothing_on_a_get(as_admin, profile, name):
    assert as_admin.get(reverse(name, args=[profile.pk])).status_code == 405


def test_it_answers_404_for_an_unknown_profile(as_admin):
    assert as_admin.get(reverse("dashboard-engine-edit", args=[999])).status_code == 404


@pytest.mark.parametrize(
    ("persona", "shown"), [("admin", True), ("producer", False), ("support", False)]
)
def test_it_links_the_page_from_the_nav_only_for_admins(client, request, persona, shown):
    client.force_login(request.getfixturevalue(persona))
    html = client.get(reverse("dashboard-home")).content.decode()
    nav = html.split('<nav aria-label="Main">')[1].split("</nav>")[0]
    assert (f'href="{LIST}"' in nav) is shown


# --- the list -------------------------------------------------------------------------------
def test_it_says_what_to_do_when_there_is_no_profile(as_admin):
    assert "No engine profiles yet." in text_of(as_admin.get(LIST))


def test_it_lists_each_profile_with_its_engine_settings_and_test(as_admin, profile):
    actions.create_engine_profile(
        None, name="Own ASR", kind="forward", config={"url": "wss://asr.example.com/s"}, secrets={}
    )
    html = as_admin.get(LIST).content.decode()
    gladia = words_of(html.split('data-profile="Gladia">')[1].split("</tbody>")[0])
    assert gladia.startswith("Gladia default Gladia live (v2) solaria-1 Never tested 0")
    assert "Test Gladia" in gladia
    own = words_of(html.split('data-profile="Own ASR">')[1].split("</tbody>")[0])
    assert own.startswith("Own ASR Forward the audio to your own websocket asr.example.com")
    assert "Make default Own ASR" in own
    assert "Test Own ASR" in own
    assert API_KEY not in html


def test_it_pins_the_query_count_of_the_list(as_admin, django_assert_num_queries):
    for n in range(5):
        make_profile(f"Gladia {n}")
    # As the storage list's six (session, user, permissions, the role, the profiles), plus one
    # for the transcript counts: none per profile.
    with django_assert_num_queries(7):
        as_admin.get(LIST)


# --- the form -------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(FIELDS))
def test_it_renders_the_fieldset_of_each_kind(as_admin, kind):
    html = as_admin.get(f"{KIND_FIELDS}?kind={kind}").content.decode()
    assert f'data-kind="{kind}"' in html
    for field in FIELDS[kind]:
        assert f'name="{field.name}"' in html
        if field.secret:
            assert 'type="password"' in field_html(html, field.name)


def test_it_refuses_an_unknown_kinds_fieldset(as_admin):
    assert as_admin.get(f"{KIND_FIELDS}?kind=bogus").status_code == 400


def test_it_says_the_builtin_engine_is_english_only(as_admin):
    response = as_admin.get(f"{CREATE}?kind=builtin")
    assert "English only, and far less accurate than the cloud engines." in text_of(response)
    language = field_html(response.content.decode(), "language")
    assert re.findall(r"<option[^>]*>([^<]*)</option>", language) == ["English"]


def test_it_creates_a_profile(as_admin, admin):
    response = as_admin.post(CREATE, GLADIA_FORM)
    profile = EngineProfile.objects.get()
    assert response["Location"] == reverse("dashboard-engine-edit", args=[profile.pk])
    assert (profile.name, profile.kind, profile.is_default) == ("Gladia EU", "gladia", True)
    assert profile.config == {
        "region": "eu-west",
        "model": "solaria-1",
        "languages": ["en", "fr"],
        "code_switching": False,
    }
    assert profile.secrets() == {"api_key": API_KEY}
    assert API_KEY not in profile.encrypted_secrets
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.target_type) == (
        AuditAction.CREATED,
        admin,
        AuditTarget.ENGINE_PROFILE,
    )
    assert "api_key (set)" in entry.changed_fields
    assert API_KEY not in str(entry.changed_fields) + entry.outcome


def test_it_creates_a_builtin_profile_with_nothing_but_a_name(as_admin):
    as_admin.post(CREATE, {"name": "Offline", "kind": "builtin", "language": "en"})
    profile = EngineProfile.objects.get()
    assert (profile.kind, profile.config) == ("builtin", {"language": "en"})
    assert profile.encrypted_secrets == ""


def test_it_puts_each_error_next_to_its_field_and_writes_nothing(as_admin):
    response = as_admin.post(
        CREATE,
        GLADIA_FORM | {"name": "", "region": "mars", "languages": "english", "api_key": ""},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "This field is required." in field_html(html, "name")
    assert "Select a valid choice." in field_html(html, "region")
    assert "This field is required." in field_html(html, "api_key")
    assert EngineProfile.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_it_explains_bad_values_the_action_refuses(as_admin):
    response = as_admin.post(CREATE, GLADIA_FORM | {"languages": "english", "api_key": " "})
    html = response.content.decode()
    assert "is not a language code" in field_html(html, "languages")
    assert "This field is required." in field_html(html, "api_key")
    assert "Enter the secret fields again" in text_of(response)
    assert EngineProfile.objects.count() == 0


def test_it_never_sends_a_typed_key_back(as_admin):
    response = as_admin.post(CREATE, GLADIA_FORM | {"languages": "english"})
    assert API_KEY not in response.content.decode()


def test_it_refuses_a_name_already_taken(as_admin, profile):
    response = as_admin.post(CREATE, GLADIA_FORM | {"name": "gladia"})
    html = response.content.decode()
    assert "There is already an engine profile called gladia." in field_html(html, "name")
    assert EngineProfile.objects.count() == 1


def test_it_shows_hints_of_the_stored_key_never_its_value(as_admin, profile):
    html = as_admin.get(reverse("dashboard-engine-edit", args=[profile.pk])).content.decode()
    key = field_html(html, "api_key")
    assert f"Stored: ••••{API_KEY[-4:]}. Leave empty to keep it." in key
    assert key.count("Leave empty") == 1  # not the kind's help for a new profile as well
    assert 'type="password"' in key
    assert "value=" not in key.split("<input")[1].split(">")[0]
    assert "required" not in key.split("<input")[1].split(">")[0]
    assert API_KEY not in html
    assert "disabled" in field_html(html, "kind")


def test_it_keeps_the_key_when_left_empty(as_admin, profile, admin):
    response = as_admin.post(
        reverse("dashboard-engine-edit", args=[profile.pk]),
        edit_form(profile, name="Gladia renamed", languages="de"),
    )
    assert response.status_code == 302
    profile.refresh_from_db()
    assert (profile.name, profile.config["languages"]) == ("Gladia renamed", ["de"])
    assert profile.secrets() == {"api_key": API_KEY}
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.actor, entry.changed_fields) == (
        AuditAction.CHANGED,
        admin,
        ["name", "languages"],
    )


def test_it_replaces_the_key_with_a_new_value(as_admin, profile):
    as_admin.post(
        reverse("dashboard-engine-edit", args=[profile.pk]),
        edit_form(profile, api_key="brand-new-gladia-key-0000"),
    )
    profile.refresh_from_db()
    assert profile.secrets() == {"api_key": "brand-new-gladia-key-0000"}
    assert AuditEntry.objects.latest("id").changed_fields == ["api_key (replaced)"]


def test_it_refuses_to_clear_a_required_key_without_a_new_one(as_admin, profile):
    entries = AuditEntry.objects.count()
    response = as_admin.post(
        reverse("dashboard-engine-edit", args=[profile.pk]),
        edit_form(profile, clear_api_key="on"),
    )
    assert response.status_code == 200
    assert "This field is required." in field_html(response.content.decode(), "api_key")
    profile.refresh_from_db()
    assert profile.secrets() == {"api_key": API_KEY}
    assert AuditEntry.objects.count() == entries


def test_it_clears_an_optional_token(as_admin):
    profile = actions.create_engine_profile(
        None,
        name="Own",
        kind="forward",
        config={"url": "wss://asr.example.com/"},
        secrets={"token": "bearer-token-to-drop-99"},
    )
    as_admin.post(
        reverse("dashboard-engine-edit", args=[profile.pk]),
        {"name": "Own", "url": "wss://asr.example.com/", "mode": "tracks", "clear_token": "on"},
    )
    profile.refresh_from_db()
    assert profile.encrypted_secrets == ""
    assert AuditEntry.objects.latest("id").changed_fields == ["token (removed)"]


def test_it_makes_a_profile_the_default(as_admin, profile, admin):
    other = make_profile("Second", key="second-key-1234")
    response = as_admin.post(reverse("dashboard-engine-default", args=[other.pk]))
    assert response["Location"] == LIST
    other.refresh_from_db()
    profile.refresh_from_db()
    assert (other.is_default, profile.is_default) == (True, False)
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.actor, entry.outcome) == (
        AuditAction.MADE_DEFAULT,
        admin,
        "instead of Gladia",
    )


# --- delete ---------------------------------------------------------------------------------
def transcribing(profile: EngineProfile, room: str = "podcast", **session: object) -> Transcription:
    audio = AudioSession.objects.create(room_name=room, **session)
    return Transcription.objects.create(
        session=audio, profile=profile, engine=profile.kind, profile_name=profile.name
    )


def test_it_asks_before_deleting(as_admin, profile):
    transcribing(profile, state=AudioSessionState.ENDED, ended_at=timezone.now())
    words = text_of(as_admin.get(reverse("dashboard-engine-delete", args=[profile.pk])))
    assert "Delete the engine profile Gladia?" in words
    assert "1 transcript came from it: they keep their text and the profile's name." in words
    assert EngineProfile.objects.count() == 1


def test_it_deletes_a_profile_and_the_next_becomes_the_default(as_admin, profile, admin):
    other = make_profile("Second", key="second-key-1234")
    old = transcribing(profile, state=AudioSessionState.ENDED, ended_at=timezone.now())
    response = as_admin.post(reverse("dashboard-engine-delete", args=[profile.pk]))
    assert response["Location"] == LIST
    assert list(EngineProfile.objects.values_list("name", "is_default")) == [("Second", True)]
    old.refresh_from_db()
    assert (old.profile, old.profile_name) == (None, "Gladia")
    deleted, made_default = AuditEntry.objects.order_by("id")[2:]
    assert (deleted.action, deleted.actor, deleted.target_name) == (
        AuditAction.DELETED,
        admin,
        "Gladia",
    )
    assert (made_default.target_id, made_default.outcome) == (other.pk, "Gladia was deleted")


def test_it_refuses_to_delete_a_profile_a_running_session_uses(as_admin, profile):
    transcribing(profile, room="town-hall")
    response = as_admin.post(reverse("dashboard-engine-delete", args=[profile.pk]))
    assert response.status_code == 409
    words = text_of(response)
    assert "Not deleted" in words
    assert "“Gladia” cannot be deleted while a running session transcribes with it (town-hall)" in (
        words
    )
    assert EngineProfile.objects.count() == 1


# --- test -----------------------------------------------------------------------------------
def test_it_tests_a_working_engine_and_keeps_the_outcome(as_admin, admin, profile):
    with listening() as engine:
        response = as_admin.post(
            reverse("dashboard-engine-test", args=[profile.pk]), HTTP_HX_REQUEST="true"
        )
    html = response.content.decode()
    words = words_of(html)
    assert "Gladia: the engine works. The engine heard the test speech and answered." in words
    assert "Connect Opened a session; the engine says: live." in words
    assert "Send Sent 3.0 s of speech (16 kHz mono, 16-bit) in 30 chunks." in words
    assert "Result First result (partial): “heard 1000 ms of audio”." in words
    assert "Close Closed the session (1 final result in all)." in words
    assert f'id="last-test-{profile.pk}" class="last-test" hx-swap-oob="true"' in html
    opened = engine.opened[0]
    assert (opened.key, opened.received, opened.closed) == (API_KEY, 48_000, True)
    profile.refresh_from_db()
    assert profile.last_test_ok is True
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.actor, entry.outcome) == (AuditAction.TESTED, admin, "ok")


def test_it_explains_a_wrong_key_without_showing_it(as_admin, admin):
    profile = make_profile("Bad key", key="wrong-key")
    with listening():
        response = as_admin.post(reverse("dashboard-engine-test", args=[profile.pk]))
    words = text_of(response)  # without htmx: the edit page with the result
    assert "Edit Bad key" in words
    assert "Bad key: the test failed." in words
    assert "The engine refused while connecting: failed: 401 invalid API key [hidden]" in words
    profile.refresh_from_db()
    assert profile.last_test_ok is False
    assert "401 invalid API key" in profile.last_test_message
    entry = AuditEntry.objects.latest("id")
    assert entry.outcome.startswith("failed: Connecting failed:")


def test_it_shows_progress_and_disables_the_button_while_testing(as_admin, profile):
    with listening():
        for url in (LIST, reverse("dashboard-engine-edit", args=[profile.pk])):
            html = as_admin.get(url).content.decode()
            test_url = reverse("dashboard-engine-test", args=[profile.pk])
            form = html.split(f'action="{test_url}"')[1].split("</form>")[0]
            assert f'hx-post="{test_url}"' in form
            assert f'hx-indicator="#test-progress-{profile.pk}"' in form
            assert 'hx-disabled-elt="find button"' in form
            progress = html.split(f'id="test-progress-{profile.pk}"')[1].split("</p>")[0]
            assert "Testing: connecting, sending three seconds of speech" in progress


def test_it_tests_the_builtin_engine_for_real(as_admin, admin):
    # PocketSphinx in its worker process hears the sandbox host's first three seconds.
    profile = actions.create_engine_profile(
        None, name="Offline", kind="builtin", config={"language": "en"}, secrets={}
    )
    response = as_admin.post(
        reverse("dashboard-engine-test", args=[profile.pk]), HTTP_HX_REQUEST="true"
    )
    words = words_of(response.content.decode())
    assert "Offline: the engine works." in words, words
    assert "Send Sent 3.0 s of speech" in words
    assert re.search(r"Result First result \((partial|final)\): “\w", words), words
    profile.refresh_from_db()
    assert profile.last_test_ok is True


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("wss://[::1/", "Enter a valid websocket URL."),
        ("wss://asr.example.com/\x00", "Null characters are not allowed."),
        ("wss://asr.example.com/\x07", "Use printable characters only, and fewer of them."),
        ("wss://asr.example.com/" + "a" * 600, "Use printable characters only, and fewer of them."),
    ],
)
def test_it_refuses_a_url_no_engine_could_use_without_a_500(as_admin, url, error):
    response = as_admin.post(CREATE, {"name": "Own", "kind": "forward", "url": url, "mode": "mix"})
    assert response.status_code == 200
    assert error in field_html(response.content.decode(), "url")
    assert EngineProfile.objects.count() == 0


# --- Test, through a real cloud engine (Forward) and a stand-in service ----------------------
TOKEN = "forward-view-test-token-5a6b"


def forward(url: str, token: str = TOKEN, **config: object) -> EngineProfile:
    return actions.create_engine_profile(
        None,
        name="Own ASR",
        kind="forward",
        config={"url": url, "mode": "mix", **config},
        secrets={"token": token},
    )


def words_after_test(client, profile: EngineProfile) -> str:
    url = reverse("dashboard-engine-test", args=[profile.pk])
    return words_of(client.post(url, HTTP_HX_REQUEST="true").content.decode())


def test_it_tests_a_forward_service_that_answers(as_admin):
    with ForwardStandIn(TOKEN, answer=True).running() as standin:
        words = words_after_test(as_admin, forward(standin.url + "/in", results=True))
    assert "Own ASR: the engine works." in words, words
    assert "Connect Opened a session; the engine says: live." in words
    assert "Result First result (partial): “hello”." in words
    assert standin.violations == []
    assert standin.sessions[0].texts == [{"type": "stop"}]
    assert len(standin.sessions[0].audio) == 2 * 48_000  # the three seconds, all of them


def test_it_does_not_wait_for_words_a_forward_service_is_not_asked_for(as_admin):
    with ForwardStandIn(TOKEN).running() as standin:
        words = words_after_test(as_admin, forward(standin.url))
    assert "Own ASR: the engine works." in words, words
    assert "Result Not waited for: this profile takes no results back." in words


def test_it_says_a_forward_service_refused_the_token_without_showing_it(as_admin):
    with ForwardStandIn("another-token").running() as standin:
        profile = forward(standin.url)
        words = words_after_test(as_admin, profile)
    assert "Own ASR: the test failed." in words
    assert "The engine refused while connecting: failed: HTTP 401: bad token Bearer" in words
    assert TOKEN not in words
    profile.refresh_from_db()
    assert profile.last_test_ok is False
    assert TOKEN not in profile.last_test_message


def test_it_says_a_forward_service_is_unreachable(as_admin, closed_port_url):
    profile = forward(closed_port_url.replace("http://", "ws://"))
    words = words_after_test(as_admin, profile)
    assert "Own ASR: the test failed." in words
    assert "The engine could not connect: reconnecting (1 of" in words, words
    assert "cannot connect" in words
