"""The Live page's Mute, Unmute and Remove, through the pages against the sandbox (real HTTP):
who sees and may use them, the confirmation before Remove, and LiveKit's refusals in words."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from egress_app.models import AuditAction, AuditEntry
from egress_app.sandbox.testing import RunningSandbox
from tests.moderation.test_actions import ROOM, identities, microphone, track

pytestmark = pytest.mark.django_db

MUTE, REMOVE = reverse("dashboard-live-mute"), reverse("dashboard-live-remove")
HTMX = {"HX-Request": "true"}


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def live_part(user: User) -> str:
    answer = client_for(user).get(reverse("dashboard-home-live"))
    assert answer.status_code == 200
    return answer.content.decode()


@pytest.mark.parametrize("persona", ["producer", "admin"])
def test_it_offers_mute_and_remove_to_producers_and_admins(request, persona, sandbox):
    page = live_part(request.getfixturevalue(persona))

    assert 'aria-label="Mute guest\'s microphone"' in page
    assert f'aria-label="Remove guest from {ROOM}"' in page
    assert "hx-confirm=" in page


def test_it_offers_no_moderation_to_support(support, sandbox):
    page = live_part(support)

    assert "guest" in page
    assert "dashboard-live" not in page
    assert reverse("dashboard-live-mute") not in page
    assert reverse("dashboard-live-remove") not in page


def test_it_mutes_from_the_live_page(producer, sandbox: RunningSandbox):
    sid = microphone(sandbox)
    fields = {"room": ROOM, "identity": "guest", "track": sid, "muted": "1"}

    answer = client_for(producer).post(MUTE, fields, headers=HTMX)

    assert answer.status_code == 200
    html = answer.content.decode()
    assert f"Muted guest&#x27;s track in {ROOM}." in html
    assert 'id="live-refresh"' in html  # the live part reloads, even without a websocket
    assert track(sandbox, sid).muted
    assert AuditEntry.objects.get().actor == producer


def test_it_mutes_without_script_and_says_so_on_the_live_page(producer, sandbox):
    sid = microphone(sandbox)
    client = client_for(producer)

    answer = client.post(MUTE, {"room": ROOM, "identity": "guest", "track": sid, "muted": "1"})

    assert answer.status_code == 302
    assert answer["Location"] == reverse("dashboard-home")
    assert "Muted guest" in client.get(answer["Location"]).content.decode()
    assert track(sandbox, sid).muted


def test_it_asks_before_it_removes(producer, sandbox: RunningSandbox):
    client = client_for(producer)

    asked = client.post(REMOVE, {"room": ROOM, "identity": "guest"})

    assert asked.status_code == 200
    assert f"Remove guest from {ROOM}?" in asked.content.decode()
    assert 'name="confirmed" value="1"' in asked.content.decode()
    assert "guest" in identities(sandbox)
    assert not AuditEntry.objects.exists()

    answer = client.post(REMOVE, {"room": ROOM, "identity": "guest", "confirmed": "1"})

    assert answer.status_code == 302
    assert "guest" not in identities(sandbox)
    assert AuditEntry.objects.get().action == AuditAction.REMOVED


def test_it_removes_from_the_live_page(admin, sandbox: RunningSandbox):
    fields = {"room": ROOM, "identity": "guest", "confirmed": "1"}

    answer = client_for(admin).post(REMOVE, fields, headers=HTMX)

    assert f"Removed guest from {ROOM}." in answer.content.decode()
    assert "guest" not in identities(sandbox)


def test_it_shows_livekits_refusal_in_plain_words(producer, sandbox: RunningSandbox):
    fields = {"room": ROOM, "identity": "nobody", "confirmed": "1"}

    answer = client_for(producer).post(REMOVE, fields, headers=HTMX)

    assert answer.status_code == 200
    html = answer.content.decode()
    assert "LiveKit could not remove nobody: nobody is not in the room" in html
    assert "(Twirp not_found)" in html
    assert 'class="message error"' in html
    assert not AuditEntry.objects.exists()


def test_it_shows_a_refused_unmute_in_plain_words(producer, sandbox: RunningSandbox):
    sid = microphone(sandbox)
    sandbox.control.set_track_muted(ROOM, sid, True)
    fields = {"room": ROOM, "identity": "guest", "track": sid, "muted": "0"}

    answer = client_for(producer).post(MUTE, fields, headers=HTMX)

    assert "enable_remote_unmute" in answer.content.decode()
    assert "(Twirp failed_precondition)" in answer.content.decode()
    assert track(sandbox, sid).muted


@pytest.mark.parametrize("url", [MUTE, REMOVE])
def test_it_refuses_support(support, sandbox: RunningSandbox, url):
    sid = microphone(sandbox)
    fields = {"room": ROOM, "identity": "guest", "track": sid, "muted": "1", "confirmed": "1"}

    answer = client_for(support).post(url, fields)

    assert answer.status_code == 403
    assert not track(sandbox, sid).muted
    assert "guest" in identities(sandbox)
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("url", [MUTE, REMOVE])
def test_it_sends_anonymous_visitors_to_sign_in(client, sandbox: RunningSandbox, url):
    sid = microphone(sandbox)
    fields = {"room": ROOM, "identity": "guest", "track": sid, "muted": "1", "confirmed": "1"}

    answer = client.post(url, fields)

    assert answer.status_code == 302
    assert answer["Location"].startswith(reverse("login"))
    assert not track(sandbox, sid).muted
    assert "guest" in identities(sandbox)


@pytest.mark.parametrize("url", [MUTE, REMOVE])
def test_it_takes_only_posts(producer, url):
    assert client_for(producer).get(url).status_code == 405


def test_it_asks_for_a_participant_instead_of_failing(producer, sandbox: RunningSandbox):
    answer = client_for(producer).post(REMOVE, {"room": ROOM, "confirmed": "1"}, headers=HTMX)

    assert answer.status_code == 200
    assert "Say which room and which participant." in answer.content.decode()
