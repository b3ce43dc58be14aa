from __future__ import annotations

import pytest
from django.urls import reverse

from egress_app import actions
from egress_app.models import AuditAction, AuditEntry, EgressJob, EgressStatus, StreamDestination
from tests.dashboard.test_home import text_of
from tests.dashboard.test_storage_views import field_html, text_of_html

pytestmark = pytest.mark.django_db

LIST = reverse("dashboard-destination-list")
CREATE = reverse("dashboard-destination-create")

SERVER_URL = "rtmp://a.rtmp.youtube.com/live2"
STREAM_KEY = "abcd-efgh-ijkl-mnop-qrst"


def make_destination(name: str = "YouTube main", **values: str) -> StreamDestination:
    address = {"server_url": SERVER_URL, "stream_key": STREAM_KEY} | values
    return actions.create_stream_destination(None, name=name, **address)


def url_of(name: str, destination: StreamDestination | None) -> str:
    return reverse(name, args=[destination.pk]) if destination else reverse(name)


@pytest.fixture
def as_admin(client, admin):
    client.force_login(admin)
    return client


@pytest.fixture
def destination(db) -> StreamDestination:
    return make_destination()


# --- who may open what ----------------------------------------------------------------------

VIEWS = [
    ("dashboard-destination-list", False),
    ("dashboard-destination-create", False),
    ("dashboard-destination-edit", True),
    ("dashboard-destination-duplicate", True),
    ("dashboard-destination-delete", True),
]


@pytest.mark.parametrize(("name", "needs_pk"), VIEWS)
def test_it_sends_anonymous_visitors_to_the_login_page(client, destination, name, needs_pk):
    url = url_of(name, destination if needs_pk else None)
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize("persona", ["producer", "support", "outsider"])
@pytest.mark.parametrize(("name", "needs_pk"), VIEWS)
def test_it_refuses_every_other_role(client, request, destination, persona, name, needs_pk):
    client.force_login(request.getfixturevalue(persona))
    url = url_of(name, destination if needs_pk else None)
    assert client.get(url).status_code == 403
    data = {"name": "Hijack", "server_url": "rtmp://evil.example/app", "stream_key": "k"}
    assert client.post(url, data).status_code == 403
    assert list(StreamDestination.objects.values_list("name", flat=True)) == ["YouTube main"]
    assert AuditEntry.objects.count() == 1


@pytest.mark.parametrize(("name", "needs_pk"), VIEWS)
def test_it_opens_every_page_for_an_admin(as_admin, destination, name, needs_pk):
    assert as_admin.get(url_of(name, destination if needs_pk else None)).status_code == 200


# --- the list -------------------------------------------------------------------------------


def test_it_says_what_to_do_when_there_is_no_destination(as_admin):
    words = text_of(as_admin.get(LIST))
    assert "No stream destinations yet. Add one so producers can go live to it by name." in words


def test_it_lists_each_destination_with_its_host_key_hint_and_jobs(as_admin, destination):
    srt = make_destination("Studio SRT", server_url="srt://ingest.example.com:9000", stream_key="")
    job = EgressJob.objects.create(egress_id="EG_1", kind="room_composite")
    job.destinations.add(destination)
    html = as_admin.get(LIST).content.decode()
    row = text_of_html(html.split('data-destination="YouTube main"')[1].split("</tr>")[0])
    assert f"YouTube main RTMP a.rtmp.youtube.com ••••{STREAM_KEY[-4:]} 1" in row
    row = text_of_html(html.split(f'data-destination="{srt.name}"')[1].split("</tr>")[0])
    assert "Studio SRT SRT ingest.example.com none 0" in row
    assert STREAM_KEY not in html
    assert SERVER_URL not in html


def test_it_pins_the_query_count_of_the_list(as_admin, django_assert_num_queries):
    for number in range(5):
        destination = make_destination(f"Destination {number}")
        job = EgressJob.objects.create(egress_id=f"EG_{number}", kind="track")
        job.destinations.add(destination)
    # Session, user, the user's and their groups' permissions, the destinations with job counts.
    with django_assert_num_queries(6):
        response = as_admin.get(LIST)
    assert text_of(response).count("a.rtmp.youtube.com") == 5


# --- create and edit ------------------------------------------------------------------------


def test_it_creates_a_destination(as_admin, admin):
    data = {"name": "Twitch", "server_url": "rtmp://live.twitch.tv/app", "stream_key": "live_123"}
    response = as_admin.post(CREATE, data)
    assert response["Location"] == LIST
    destination = StreamDestination.objects.get()
    assert (destination.name, destination.protocol, destination.host) == (
        "Twitch",
        "rtmp",
        "live.twitch.tv",
    )
    assert destination.secrets() == {
        "server_url": "rtmp://live.twitch.tv/app",
        "stream_key": "live_123",
    }
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor) == (AuditAction.CREATED, admin)
    assert "Added Twitch." in text_of(as_admin.get(LIST))


def test_it_marks_the_fields_and_keeps_the_secrets_write_only(as_admin):
    html = as_admin.get(CREATE).content.decode()
    for name, label in (("name", "Name"), ("server_url", "Server URL")):
        markup = field_html(html, name)
        assert f'<label for="id_{name}">{label} <span class="required"' in markup
    assert 'type="url"' in field_html(html, "server_url")
    assert 'type="password"' in field_html(html, "stream_key")
    assert "clear_stream_key" not in html


def test_it_puts_url_errors_on_the_url_field_and_writes_nothing(as_admin):
    data = {"name": "Broken", "server_url": "http://example.com/live", "stream_key": "key-1234"}
    response = as_admin.post(CREATE, data)
    assert response.status_code == 200
    html = response.content.decode()
    server_url = field_html(html, "server_url")
    assert "http:// is not a streaming scheme: use rtmp://" in server_url
    assert 'aria-invalid="true"' in server_url
    assert 'value="Broken"' in field_html(html, "name")
    assert 'value="http://example.com/live"' in server_url  # what was typed, to correct
    assert "key-1234" not in html
    assert StreamDestination.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_it_says_the_host_has_a_space_and_keeps_the_url_typed(as_admin):
    data = {"name": "Spaced", "server_url": "rtmp://bad url/nokey", "stream_key": "key-1234"}
    server_url = field_html(as_admin.post(CREATE, data).content.decode(), "server_url")
    assert "The host name has a space in it" in server_url
    assert 'value="rtmp://bad url/nokey"' in server_url
    assert StreamDestination.objects.count() == 0


def test_it_keeps_the_url_typed_when_another_field_is_wrong(as_admin):
    data = {"name": "", "server_url": "rtmp://live.example.com/app", "stream_key": "key-1234"}
    html = as_admin.post(CREATE, data).content.decode()
    assert 'value="rtmp://live.example.com/app"' in field_html(html, "server_url")
    assert "key-1234" not in html


def test_it_never_renders_the_stored_url_on_a_refused_edit(as_admin):
    destination = actions.create_stream_destination(
        None, name="Main", server_url="rtmp://stored.example.com/app", stream_key="stored-key"
    )
    data = {"name": "", "server_url": "", "stream_key": ""}
    html = as_admin.post(reverse("dashboard-destination-edit", args=[destination.pk]), data)
    page = html.content.decode()
    assert "stored.example.com/app" not in page
    assert "stored-key" not in page


def test_it_asks_for_the_key_of_an_rtmp_destination(as_admin):
    data = {"name": "No key", "server_url": "rtmp://live.example.com/app"}
    html = as_admin.post(CREATE, data).content.decode()
    assert "Stream key is required." in field_html(html, "stream_key")
    assert StreamDestination.objects.count() == 0


def test_it_shows_hints_of_the_stored_values_on_edit(as_admin, destination):
    html = as_admin.get(reverse("dashboard-destination-edit", args=[destination.pk])).content
    html = html.decode()
    assert f"Stored: ••••{STREAM_KEY[-4:]}. Leave empty to keep it." in field_html(
        html, "stream_key"
    )
    assert "Stored: ••••" in field_html(html, "server_url")
    assert "Replace (clear the stored value)" in field_html(html, "clear_stream_key")
    assert STREAM_KEY not in html
    assert SERVER_URL not in html
    assert "RTMP to a.rtmp.youtube.com" in text_of_html(html)


def test_it_keeps_the_url_and_key_when_left_empty(as_admin, destination):
    url = reverse("dashboard-destination-edit", args=[destination.pk])
    response = as_admin.post(url, {"name": "YouTube renamed", "server_url": "", "stream_key": ""})
    assert response["Location"] == LIST
    destination.refresh_from_db()
    assert destination.name == "YouTube renamed"
    assert destination.secrets() == {"server_url": SERVER_URL, "stream_key": STREAM_KEY}
    assert AuditEntry.objects.latest("id").changed_fields == ["name"]


def test_it_replaces_the_stream_key(as_admin, destination):
    url = reverse("dashboard-destination-edit", args=[destination.pk])
    as_admin.post(url, {"name": destination.name, "stream_key": "new-key-9999"})
    destination.refresh_from_db()
    assert destination.secrets()["stream_key"] == "new-key-9999"
    assert "stream_key (replaced)" in AuditEntry.objects.latest("id").changed_fields


def test_it_clears_the_stream_key_when_asked(as_admin):
    destination = make_destination("SRT", server_url="srt://ingest.example.com:9000")
    url = reverse("dashboard-destination-edit", args=[destination.pk])
    as_admin.post(url, {"name": "SRT", "clear_stream_key": "on"})
    destination.refresh_from_db()
    assert destination.secrets() == {"server_url": "srt://ingest.example.com:9000"}


def test_it_refuses_to_clear_a_key_rtmp_needs(as_admin, destination):
    url = reverse("dashboard-destination-edit", args=[destination.pk])
    response = as_admin.post(url, {"name": destination.name, "clear_stream_key": "on"})
    assert response.status_code == 200
    assert "Stream key is required." in field_html(response.content.decode(), "stream_key")
    destination.refresh_from_db()
    assert destination.secrets()["stream_key"] == STREAM_KEY


def test_it_moves_to_another_server(as_admin, destination):
    url = reverse("dashboard-destination-edit", args=[destination.pk])
    as_admin.post(url, {"name": destination.name, "server_url": "rtmps://live.example.com/app"})
    destination.refresh_from_db()
    assert (destination.protocol, destination.host) == ("rtmps", "live.example.com")
    assert destination.secrets()["stream_key"] == STREAM_KEY


# --- duplicate and delete -------------------------------------------------------------------


def test_it_duplicates_a_destination(as_admin, destination):
    url = reverse("dashboard-destination-duplicate", args=[destination.pk])
    assert 'value="YouTube main (copy)"' in as_admin.get(url).content.decode()
    response = as_admin.post(url, {"name": "YouTube backup"})
    copy = StreamDestination.objects.get(name="YouTube backup")
    assert response["Location"] == reverse("dashboard-destination-edit", args=[copy.pk])
    assert copy.secrets() == destination.secrets()
    assert AuditEntry.objects.latest("id").action == AuditAction.DUPLICATED


def test_it_refuses_a_duplicate_under_a_taken_name(as_admin, destination):
    url = reverse("dashboard-destination-duplicate", args=[destination.pk])
    html = as_admin.post(url, {"name": "YouTube main"}).content.decode()
    assert "There is already a stream destination called YouTube main." in field_html(html, "name")
    assert StreamDestination.objects.count() == 1


def test_it_asks_before_deleting(as_admin, destination):
    words = text_of(as_admin.get(reverse("dashboard-destination-delete", args=[destination.pk])))
    assert "Delete the stream destination YouTube main?" in words
    assert StreamDestination.objects.count() == 1


def test_it_deletes_a_destination(as_admin, destination):
    response = as_admin.post(reverse("dashboard-destination-delete", args=[destination.pk]))
    assert response["Location"] == LIST
    assert StreamDestination.objects.count() == 0
    assert AuditEntry.objects.latest("id").action == AuditAction.DELETED


def test_it_refuses_to_delete_a_destination_a_running_job_uses(as_admin, destination):
    job = EgressJob.objects.create(egress_id="EG_live", kind="web", status=EgressStatus.ACTIVE)
    job.destinations.add(destination)
    response = as_admin.post(reverse("dashboard-destination-delete", args=[destination.pk]))
    assert response.status_code == 409
    words = text_of(response)
    assert "“YouTube main” cannot be deleted while a running job" in words
    assert "(EG_live)" in words
    assert StreamDestination.objects.count() == 1
