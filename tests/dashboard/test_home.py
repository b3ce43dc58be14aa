from __future__ import annotations

import re

import pytest
from asgiref.sync import async_to_sync
from django.urls import reverse
from livekit.protocol import egress, models

from egress_app.livekit import get_livekit_client

pytestmark = pytest.mark.django_db

HOME = reverse("dashboard-home")
LIVE = reverse("dashboard-home-live")


def text_of(response) -> str:
    """The page's visible words, whitespace collapsed, so tests read like what people see."""
    html = response.content.decode()
    words = " ".join(re.sub(r"<[^>]+>", " ", html).replace("&#x27;", "'").split())
    return re.sub(r" ([:.,])", r"\1", words)


@pytest.fixture
def as_producer(client, producer):
    client.force_login(producer)
    return client


# --- the page -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "role"), [("producer", "Producer"), ("admin", "Admin"), ("support", "Support")]
)
def test_it_shows_every_role_the_home_page(client, request, persona, role):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    response = client.get(HOME)
    assert response.status_code == 200
    words = text_of(response)
    assert f"{user.username} {role}" in words
    assert "Log out" in words


def test_it_renders_the_page_at_once_and_loads_the_live_part(as_producer):
    html = as_producer.get(HOME).content.decode()
    assert f'hx-get="{LIVE}"' in html
    assert 'hx-trigger="load, poll, every 30s" data-poll="5"' in html
    assert "Loading rooms and egress from LiveKit" in html
    assert 'class="htmx-indicator"' in html


def test_it_puts_the_csrf_token_in_htmx_headers(as_producer):
    html = as_producer.get(HOME).content.decode()
    assert re.search(r"hx-headers='\{\"X-CSRFToken\": \"[\w-]+\"\}'", html)
    assert "/static/vendor/htmx-2.0.11.min.js" in html


def test_it_shows_the_sandbox_banner(as_producer, settings):
    settings.LIVEKIT_SANDBOX = True
    settings.LIVEKIT_URL = "http://127.0.0.1:7880"
    words = text_of(as_producer.get(HOME))
    assert (
        "Connected to the built-in LiveKit sandbox at http://127.0.0.1:7880: rooms are "
        "simulated, and each recording is a short sample clip. Set LIVEKIT_URL to use a real "
        "LiveKit." in words
    )


def test_it_hides_the_sandbox_banner_on_a_real_livekit(as_producer, settings):
    settings.LIVEKIT_SANDBOX = False
    assert "built-in LiveKit sandbox" not in text_of(as_producer.get(HOME))


@pytest.mark.parametrize("url", [HOME, LIVE])
def test_it_refuses_a_user_without_a_role_with_a_clear_page(client, outsider, url):
    client.force_login(outsider)
    response = client.get(url)
    assert response.status_code == 403
    words = text_of(response)
    assert "You don't have access to this page" in words
    assert "Ask an admin to add you to the role you need" in words


# --- the live fragment --------------------------------------------------------------------


def test_it_lists_the_rooms_with_their_participants_and_tracks(as_producer, sandbox):
    response = as_producer.get(LIVE)
    assert response.status_code == 200
    words = text_of(response)
    for expected in (
        "town-hall",
        "podcast",
        "empty-room",
        "Alice Moreau",
        "Bob Okafor",
        "Eli Guest",
    ):
        assert expected in words
    # The fragment alone, without the page around it.
    assert "<html" not in response.content.decode()


def test_it_describes_each_track(as_producer, sandbox):
    sandbox.control.set_track_muted(
        "town-hall", sandbox.control.track_sid("town-hall", "bob", "microphone"), True
    )
    html = as_producer.get(LIVE).content.decode()
    alice = html.split('data-identity="alice"')[1].split("</li>")[0]
    assert re.search(r"<td>video</td>\s*<td>screen share</td>", alice)
    assert re.search(r"<td>audio</td>\s*<td>microphone</td>", alice)
    assert re.search(r"<td>video/\w+</td>\s*<td>\d+x\d+</td>", alice)
    assert "audio/opus" in alice
    bob = html.split('data-identity="bob"')[1].split("</li>")[0]
    assert "muted" in bob


def test_it_hides_the_egress_own_participant(as_producer, sandbox):
    sandbox.control.add_participant(
        "town-hall", "EG_recorder", tracks=(), kind=models.ParticipantInfo.Kind.EGRESS
    )
    sandbox.control.add_participant("town-hall", "agent-1", kind=models.ParticipantInfo.Kind.AGENT)
    html = as_producer.get(LIVE).content.decode()
    assert "EG_recorder" not in html
    assert 'data-identity="agent-1"' in html


def test_it_shows_the_active_egress(as_producer, sandbox):
    request = egress.RoomCompositeEgressRequest(
        room_name="town-hall",
        layout="grid",
        file_outputs=[egress.EncodedFileOutput(filepath="town-hall.mp4")],
    )
    info = async_to_sync(get_livekit_client().start_room_composite_egress)(request)
    sandbox.control.wait_for_status(info.egress_id, "active")
    html = as_producer.get(LIVE).content.decode()
    row = html.split(f'data-egress="{info.egress_id}"')[1].split("</tr>")[0]
    assert "town-hall" in row
    assert "Room composite" in row
    assert "active" in row
    assert "<time datetime=" in row
    assert "No egress is running" not in html


def test_it_says_when_no_egress_is_running(as_producer, sandbox):
    assert "No egress is running" in text_of(as_producer.get(LIVE))


def test_it_says_when_no_room_is_open(as_producer, sandbox):
    sandbox.control.reset(fixture="empty")
    assert (
        "No rooms are open on this LiveKit right now. Rooms appear here as soon as someone joins."
        in text_of(as_producer.get(LIVE))
    )


def test_it_says_when_a_room_is_empty(as_producer, sandbox):
    html = as_producer.get(LIVE).content.decode()
    room = html.split('data-room="empty-room"')[1].split("</article>")[0]
    assert "Nobody is in this room right now." in room


def test_it_explains_an_unreachable_livekit(as_producer, sandbox, settings, closed_port_url):
    settings.LIVEKIT_URL = closed_port_url
    response = as_producer.get(LIVE)
    assert response.status_code == 200
    words = text_of(response)
    assert f"LiveKit is unreachable at {closed_port_url}" in words
    assert "Twirp code unavailable" in words
    assert "Traceback" not in words


def test_it_explains_refused_credentials(as_producer, sandbox, settings):
    settings.LIVEKIT_API_SECRET = "not-the-secret"
    words = text_of(as_producer.get(LIVE))
    assert "LiveKit refused our credentials" in words
    assert "Twirp code unauthenticated" in words
    assert "not-the-secret" not in words


def test_it_pins_the_query_count_of_the_fragment(as_producer, sandbox, django_assert_num_queries):
    # Session; the user twice (LoginRequiredMiddleware reads request.user, the async permission
    # check request.auser(), and Django caches them apart); the user's and their groups'
    # permissions; the rooms an audio session listens to; the storage profiles a session may be
    # recorded to; the engine profiles it may be transcribed with. Nothing per room or
    # participant: LiveKit is not the database.
    with django_assert_num_queries(8):
        as_producer.get(LIVE)


def test_it_shows_the_role_in_the_header_of_every_page(client, admin):
    client.force_login(admin)
    for name in ("dashboard-home", "dashboard-storage-list", "dashboard-audit"):
        assert b'<span class="role">Admin</span>' in client.get(reverse(name)).content


def test_it_says_how_many_taps_listening_starts(as_producer, sandbox):
    html = as_producer.get(LIVE).content.decode()
    podcast = html.split('data-room="podcast"')[1].split("</article>")[0]
    town_hall = html.split('data-room="town-hall"')[1].split("</article>")[0]

    assert "Starts 2 Track Egress, one per microphone;" in " ".join(podcast.split())
    assert "Starts 3 Track Egress, one per microphone (4 with screen-share audio)" in " ".join(
        town_hall.split()
    )
