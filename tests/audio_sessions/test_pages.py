"""The audio pages (issue 14, section 3): Listen on the Live page, a session's page with its
taps and meters (and the fragment polling it), and Stop, for each role, against the sandbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from pytest_django.fixtures import Settings

from egress_app.models import AudioSession, AudioSessionState, AudioTap, TapState
from egress_app.roles import PRODUCERS
from egress_app.sandbox.testing import RunningSandbox
from tests.conftest import make_user
from tests.dashboard.test_home import text_of

pytestmark = pytest.mark.django_db

LISTEN = reverse("dashboard-audio-listen")
HOME_LIVE = reverse("dashboard-home-live")
PAGES = ["dashboard-audio-session", "dashboard-audio-live"]


@pytest.fixture(autouse=True)
def nowhere(settings: Settings, closed_port_url: str) -> None:
    # Nothing listens there: the taps' egress fail to dial, which these tests do not mind.
    settings.AUDIO_INGEST_URL = closed_port_url.replace("http", "ws", 1)


@pytest.fixture
def session(producer: User) -> AudioSession:
    """The producer's session over the podcast room, one tap connected, one waiting."""
    session = AudioSession.objects.create(room_name="podcast", started_by=producer)
    expires = timezone.now() + timedelta(minutes=3)
    AudioTap.objects.create(
        session=session,
        participant_identity="host",
        participant_name="Dana Host",
        track_sid="TR_host",
        track_name="mic",
        token_hash="x" * 64,
        token_expires_at=expires,
        state=TapState.CONNECTED,
        connected_at=timezone.now(),
        bytes_received=192_000,
    )
    AudioTap.objects.create(
        session=session,
        participant_identity="guest",
        track_sid="TR_guest",
        token_hash="y" * 64,
        token_expires_at=expires,
    )
    return session


def url(name: str, session: AudioSession) -> str:
    return reverse(name, args=[session.pk])


# --- Listen ---------------------------------------------------------------------------------------
def test_it_sends_anonymous_visitors_to_log_in(client, session: AudioSession):
    for address in [LISTEN, *(url(name, session) for name in PAGES)]:
        response = client.get(address)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    response = client.post(url("dashboard-audio-stop", session))
    assert response.status_code == 302
    assert AudioSession.objects.get().is_running


@pytest.mark.parametrize("persona", ["outsider", "support"])
def test_it_refuses_listen_to_all_but_producers_and_admins(
    client, request, persona: str, sandbox: RunningSandbox
):
    client.force_login(request.getfixturevalue(persona))

    response = client.post(LISTEN, {"room": "podcast"})

    assert response.status_code == 403
    assert not AudioSession.objects.exists()
    assert sandbox.control.egresses() == []


@pytest.mark.parametrize("persona", ["producer", "admin"])
def test_it_listens_and_goes_to_the_session(client, request, persona, sandbox: RunningSandbox):
    client.force_login(request.getfixturevalue(persona))

    response = client.post(LISTEN, {"room": "podcast"})

    session = AudioSession.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("dashboard-audio-session", session)
    assert session.taps.count() == 2


def test_it_listens_to_screen_share_audio_when_ticked(client, producer, sandbox: RunningSandbox):
    client.force_login(producer)

    response = client.post(LISTEN, {"room": "town-hall", "screen_share_audio": "1"}, follow=True)

    session = AudioSession.objects.get()
    assert session.screen_share_audio
    assert session.taps.count() == 4
    text = text_of(response)
    assert "It taps every microphone and screen-share audio track in the room." in text
    assert "screen_audio" in text
    assert "screen-share audio" in text


def test_it_offers_screen_share_audio_with_listen(client, producer, sandbox: RunningSandbox):
    client.force_login(producer)

    html = client.get(HOME_LIVE).content.decode()

    assert '<input type="checkbox" name="screen_share_audio" value="1">' in html


def test_it_redirects_htmx_on_the_client(client, producer, sandbox: RunningSandbox):
    client.force_login(producer)

    response = client.post(LISTEN, {"room": "podcast"}, headers={"HX-Request": "true"})

    assert response["HX-Redirect"] == url("dashboard-audio-session", AudioSession.objects.get())


def test_it_says_why_it_cannot_listen(client, producer, sandbox: RunningSandbox):
    client.force_login(producer)

    response = client.post(LISTEN, {"room": "no-such-room"}, follow=True)

    assert not AudioSession.objects.exists()
    assert "no-such-room" in text_of(response)


def test_it_only_listens_by_post(client, producer):
    client.force_login(producer)
    assert client.get(LISTEN).status_code == 405


# --- the Live page --------------------------------------------------------------------------------
@pytest.mark.parametrize(("persona", "listens"), [("producer", True), ("support", False)])
def test_it_offers_listen_to_producers_only(
    client, request, persona: str, listens: bool, sandbox: RunningSandbox
):
    client.force_login(request.getfixturevalue(persona))

    html = client.get(HOME_LIVE).content.decode()

    assert (f'action="{LISTEN}"' in html) is listens


@pytest.mark.parametrize("persona", ["producer", "support"])
def test_it_badges_a_room_being_listened_to(
    client, request, persona: str, session: AudioSession, sandbox: RunningSandbox
):
    client.force_login(request.getfixturevalue(persona))

    html = client.get(HOME_LIVE).content.decode()

    podcast = html.partition('data-room="podcast"')[2].partition("</article>")[0]
    assert f'href="{url("dashboard-audio-session", session)}">Listening</a>' in podcast
    assert f'action="{LISTEN}"' not in podcast  # one session per room


# --- the session page -----------------------------------------------------------------------------
def test_it_refuses_the_pages_to_outsiders(client, outsider, session: AudioSession):
    client.force_login(outsider)
    for name in [*PAGES, "dashboard-audio-stop"]:
        assert client.get(url(name, session)).status_code == 403


@pytest.mark.parametrize("persona", ["producer", "admin", "support"])
def test_it_shows_each_tap(client, request, persona: str, session: AudioSession):
    client.force_login(request.getfixturevalue(persona))

    for name in PAGES:
        response = client.get(url(name, session))
        text = text_of(response)
        assert response.status_code == 200
        assert "Dana Host (host) mic TR_host Connected" in text
        assert "UTC" in text
        assert "187.5 KB" in text
        assert "guest \N{EN DASH} TR_guest Waiting for egress not yet" in text


@pytest.mark.parametrize(("persona", "stops"), [("producer", True), ("support", False)])
def test_it_offers_stop_to_whoever_may_stop(client, request, persona, stops, session):
    client.force_login(request.getfixturevalue(persona))

    html = client.get(url("dashboard-audio-session", session)).content.decode()

    assert (url("dashboard-audio-stop", session) in html) is stops


def test_it_shows_a_kept_level(client, support, session: AudioSession):
    from asgiref.sync import async_to_sync

    from dashboard.audio import keep_level
    from egress_app.events import TapLevel

    host = session.taps.get(participant_identity="host")
    async_to_sync(keep_level)(TapLevel(session.pk, host.pk, -15.0, -12.0, "speaking", 384_000))
    client.force_login(support)

    response = client.get(url("dashboard-audio-live", session))

    assert 'value="-15.0"' in response.content.decode()
    assert "375.0 KB speaking -15.0 dBFS -15.0 dBFS RMS, peak -12.0 dBFS" in text_of(response)


def test_it_stops_polling_an_ended_session(client, producer, session: AudioSession):
    AudioSession.objects.update(state=AudioSessionState.ENDED)
    client.force_login(producer)

    response = client.get(url("dashboard-audio-live", session))

    assert response.status_code == 286


def test_it_answers_404_for_a_missing_session(client, producer):
    client.force_login(producer)
    assert client.get(reverse("dashboard-audio-session", args=[999_999])).status_code == 404


# --- Stop -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("persona", ["support", "other_producer"])
def test_it_refuses_stop_to_others(client, request, persona: str, session: AudioSession):
    user = make_user("pia", PRODUCERS) if persona == "other_producer" else None
    client.force_login(user or request.getfixturevalue(persona))

    assert client.get(url("dashboard-audio-stop", session)).status_code == 403
    assert client.post(url("dashboard-audio-stop", session)).status_code == 403
    assert AudioSession.objects.get().is_running


@pytest.mark.parametrize("persona", ["producer", "admin"])
def test_it_confirms_then_stops(client, request, persona, session, sandbox: RunningSandbox):
    client.force_login(request.getfixturevalue(persona))

    confirm = client.get(url("dashboard-audio-stop", session))
    assert "Stop listening to podcast?" in text_of(confirm)
    assert AudioSession.objects.get().is_running

    response = client.post(url("dashboard-audio-stop", session), follow=True)

    assert AudioSession.objects.get().state == AudioSessionState.ENDED
    assert "Stopped listening to podcast." in text_of(response)


def test_it_shows_the_mix_meter_kept_by_this_process(client, support, session: AudioSession):
    from asgiref.sync import async_to_sync

    from dashboard.audio import keep_mix
    from egress_app.events import MixLevel

    client.force_login(support)
    before = text_of(client.get(url("dashboard-audio-live", session)))
    async_to_sync(keep_mix)(MixLevel(session.pk, -18.0, -9.5, "speaking", 2))

    response = client.get(url("dashboard-audio-live", session))

    assert "Mix no level here: the mix's meter is pushed live" in before
    assert 'aria-label="Level of the mix"' in response.content.decode()
    assert "Mix speaking -18.0 dBFS -18.0 dBFS RMS, peak -9.5 dBFS, 2 taps" in text_of(response)


# --- the timeline ---------------------------------------------------------------------------------
def test_it_shows_the_gap_when_a_failed_tap_was_started_again(client, producer, session):
    from egress_app.models import EgressJob, EgressKind, EgressStatus

    host = session.taps.get(participant_identity="host")
    failed_at = host.connected_at + timedelta(minutes=2)
    job = EgressJob.objects.create(
        egress_id="EG_host1",
        kind=EgressKind.TRACK,
        room_name="podcast",
        status=EgressStatus.FAILED,
        ended_at=failed_at,
        error="websocket: close sent",
    )
    AudioTap.objects.filter(pk=host.pk).update(job=job, state=TapState.CLOSED)
    again = AudioTap.objects.create(
        session=session,
        participant_identity="host",
        participant_name="Dana Host",
        track_sid="TR_host",
        track_name="mic",
        token_hash="z" * 64,
        token_expires_at=failed_at + timedelta(minutes=3),
        created_at=failed_at + timedelta(seconds=5),
        connected_at=failed_at + timedelta(seconds=12),
        state=TapState.CONNECTED,
    )
    client.force_login(producer)

    text = text_of(client.get(url("dashboard-audio-live", session)))

    assert f"Dana Host's mic (tap {host.pk}): egress Failed: websocket: close sent" in text
    assert f"Dana Host's mic (tap {again.pk}): egress connected · gap 12 s" in text
    assert text.count("gap ") == 1  # the first connection of a track is no gap
    # The table shows the track's latest tap; the one before is listed under it.
    assert "1 earlier tap, started again since" in text
    assert f"Tap {host.pk}: Dana Host's mic TR_host, closed · Failed" in text
    assert text.count("TR_host Connected") == 1


def test_it_measures_the_gap_from_the_last_tap_that_connected(client, producer, session):
    from egress_app.models import EgressJob, EgressKind, EgressStatus

    host = session.taps.get(participant_identity="host")
    closed_at = host.connected_at + timedelta(minutes=1)
    AudioTap.objects.filter(pk=host.pk).update(state=TapState.CLOSED, closed_at=closed_at)
    never = EgressJob.objects.create(
        egress_id="EG_never",
        kind=EgressKind.TRACK,
        room_name="podcast",
        status=EgressStatus.FAILED,
        ended_at=closed_at + timedelta(seconds=2),
        error="dial tcp 127.0.0.1:8000: connect: connection refused",
    )
    for n, connected in enumerate([None, closed_at + timedelta(seconds=30)]):
        AudioTap.objects.create(
            session=session,
            participant_identity="host",
            track_sid="TR_host",
            token_hash=f"{n}" * 64,
            token_expires_at=closed_at + timedelta(minutes=3),
            created_at=closed_at + timedelta(seconds=1 + 20 * n),
            connected_at=connected,
            state=TapState.CONNECTED if connected else TapState.WAITING,
            job=None if connected else never,
        )
    client.force_login(producer)

    text = text_of(client.get(url("dashboard-audio-live", session)))

    assert "egress connected · gap 30 s" in text  # from the first tap's close
    assert "2 earlier taps, started again since" in text


# --- from the launch page -------------------------------------------------------------------------
def test_it_offers_listen_on_the_launch_page(client, producer):
    client.force_login(producer)

    html = client.get(reverse("dashboard-launch")).content.decode()

    assert f'formaction="{LISTEN}"' in html
    assert f'hx-post="{LISTEN}"' in html
    # Enter in a field submits with the form's first submit button: Start, not Listen.
    assert html.index('class="start-button"') < html.index(f'formaction="{LISTEN}"')


def test_it_listens_to_the_room_chosen_on_the_launch_form(
    client, producer, sandbox: RunningSandbox
):
    client.force_login(producer)
    launch_form = {"kind": "room_composite", "room_name": "podcast", "launch_token": "x"}

    response = client.post(LISTEN, launch_form)

    session = AudioSession.objects.get()
    assert response["Location"] == url("dashboard-audio-session", session)
    assert session.room_name == "podcast"
    assert session.taps.count() == 2


def test_it_goes_back_to_the_launch_page_with_why_it_cannot_listen(
    client, producer, sandbox: RunningSandbox
):
    client.force_login(producer)

    response = client.post(LISTEN, {"kind": "room_composite", "room_name": "empty-room"})

    assert response["Location"] == reverse("dashboard-launch")
    assert "Nobody in empty-room publishes a microphone." in text_of(
        client.get(response["Location"])
    )


def test_it_says_a_close_as_the_egress_ended_once(client, producer, session, monkeypatch):
    from dashboard import audio
    from egress_app.models import EgressJob, EgressKind, EgressStatus

    host = session.taps.get(participant_identity="host")
    ended = host.connected_at + timedelta(minutes=1)
    job = EgressJob.objects.create(
        egress_id="EG_host",
        kind=EgressKind.TRACK,
        room_name="podcast",
        status=EgressStatus.COMPLETE,
        ended_at=ended,
    )
    AudioTap.objects.filter(pk=host.pk).update(job=job, state=TapState.CLOSED, closed_at=ended)
    monkeypatch.setattr(audio, "TIMELINE_LENGTH", 3)
    client.force_login(producer)

    text = text_of(client.get(url("dashboard-audio-live", session)))

    assert "connection closed" not in text
    assert f"Dana Host's mic (tap {host.pk}): egress Complete" in text
    assert "The newest 3 moments; 2 earlier ones are not shown." in text
