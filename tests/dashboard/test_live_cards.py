"""A room card's Record, Go live and Stop on the Live page, through the pages against the sandbox
(real HTTP, our LiveKit client unpatched): who may use them, what they start, the launch rules'
messages, LiveKit's refusals in words, and each running egress inside its room's card with
its streams' health."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from livekit.protocol import egress
from pytest_django.fixtures import Settings

from egress_app import actions
from egress_app.models import (
    AudioSession,
    AudioTap,
    AuditAction,
    AuditEntry,
    EgressJob,
    LaunchState,
)
from egress_app.sandbox.testing import RunningSandbox
from tests.conftest import make_user
from tests.jobs import (
    STREAM_KEY,
    file_config,
    live,
    make_destination,
    make_profile,
    start,
    stream_config,
)

pytestmark = pytest.mark.django_db

RECORD, STREAM = reverse("dashboard-live-record"), reverse("dashboard-live-stream")
HTMX = {"HX-Request": "true"}
ROOM = "town-hall"


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def live_part(user: User) -> str:
    answer = client_for(user).get(reverse("dashboard-home-live"))
    assert answer.status_code == 200
    return answer.content.decode()


def card(page: str, room: str = ROOM) -> str:
    start_at = page.index(f'data-room="{room}"')
    return page[start_at : page.index("</article>", start_at)]


def token() -> str:
    return str(uuid.uuid4())


def stop_url(job: EgressJob) -> str:
    return reverse("dashboard-live-stop", args=[job.pk])


# --- who -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("url", [RECORD, STREAM])
def test_it_sends_anonymous_visitors_to_sign_in(url, db):
    answer = Client().get(f"{url}?room={ROOM}")

    assert answer.status_code == 302
    assert answer["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("url", [RECORD, STREAM])
@pytest.mark.parametrize("persona", ["support", "outsider"])
def test_it_refuses_record_and_go_live_to_support(request, url, persona, admin, sandbox):
    make_profile(admin)
    client = client_for(request.getfixturevalue(persona))

    assert client.get(f"{url}?room={ROOM}").status_code == 403
    answer = client.post(url, {"room": ROOM, "launch_token": token()}, headers=HTMX)

    assert answer.status_code == 403
    assert not EgressJob.objects.exists()


def test_it_shows_support_no_record_nor_go_live(support, sandbox):
    page = live_part(support)

    assert RECORD not in page
    assert STREAM not in page


@pytest.mark.parametrize("persona", ["producer", "admin"])
def test_it_offers_record_and_go_live_on_every_card(request, persona, sandbox):
    room = card(live_part(request.getfixturevalue(persona)))

    assert f'hx-get="{RECORD}?room={ROOM}"' in room
    assert f'hx-get="{STREAM}?room={ROOM}"' in room


# --- Record --------------------------------------------------------------------------------------
def test_it_confirms_what_record_writes_and_where(producer, admin, sandbox):
    profile = make_profile(admin)

    answer = client_for(producer).get(f"{RECORD}?room={ROOM}", headers=HTMX)

    html = answer.content.decode()
    assert answer.status_code == 200
    assert "Record town-hall?" in html
    assert f"<strong>{profile.name}</strong>" in html
    assert "town-hall-" in html
    assert ".mp4</code>" in html
    assert 'name="launch_token"' in html
    assert "<html" not in html  # the dialog's part only


def test_it_records_a_room_from_its_card(producer, admin, sandbox: RunningSandbox):
    profile = make_profile(admin)
    fields = {"room": ROOM, "storage_profile_id": profile.pk, "launch_token": token()}

    answer = client_for(producer).post(RECORD, fields, headers=HTMX)

    assert answer.status_code == 200
    job = EgressJob.objects.get()
    assert (job.kind, job.room_name, job.started_by) == ("room_composite", ROOM, producer)
    assert job.storage_profile == profile
    assert job.config["outputs"]["file"] is not None
    html = answer.content.decode()
    assert f"Recording town-hall: egress {job.egress_id} is starting." in html
    assert 'id="live-refresh"' in html
    assert answer["HX-Trigger"] == '{"live-dialog-close": {}}'
    assert AuditEntry.objects.get(action=AuditAction.STARTED).actor == producer
    assert sandbox.control.wait_for_status(job.egress_id, "ACTIVE").room_name == ROOM


def test_it_starts_one_recording_for_a_double_submit(producer, admin, sandbox):
    profile = make_profile(admin)
    fields = {"room": ROOM, "storage_profile_id": profile.pk, "launch_token": token()}
    client = client_for(producer)

    client.post(RECORD, fields, headers=HTMX)
    client.post(RECORD, fields, headers=HTMX)

    assert EgressJob.objects.count() == 1


def test_it_records_without_script_and_says_so_on_the_live_page(producer, admin, sandbox):
    profile = make_profile(admin)
    client = client_for(producer)
    page = client.get(f"{RECORD}?room={ROOM}")
    assert page.status_code == 200
    assert "<html" in page.content.decode()

    fields = {"room": ROOM, "storage_profile_id": profile.pk, "launch_token": token()}
    answer = client.post(RECORD, fields)

    assert (answer.status_code, answer["Location"]) == (302, reverse("dashboard-home"))
    assert "Recording town-hall" in client.get(answer["Location"]).content.decode()


@pytest.mark.parametrize(
    ("persona", "says"), [("admin", "Add a storage profile"), ("producer", "Ask an admin")]
)
def test_it_says_plainly_when_no_storage_profile_is_usable(request, persona, says, sandbox):
    answer = client_for(request.getfixturevalue(persona)).get(f"{RECORD}?room={ROOM}", headers=HTMX)

    html = answer.content.decode()
    assert "no storage profile is set up" in html
    assert says in html
    assert ("dashboard-storage-create" in html or reverse("dashboard-storage-create") in html) == (
        persona == "admin"
    )
    assert "Start recording" not in html


def test_it_gives_the_launch_rules_message_for_a_bad_record(producer, admin, sandbox):
    make_profile(admin)
    fields = {"room": ROOM, "storage_profile_id": "999999", "launch_token": token()}

    answer = client_for(producer).post(RECORD, fields, headers=HTMX)

    html = answer.content.decode()
    assert answer.status_code == 200
    assert "Not started" in html
    assert not EgressJob.objects.exists()


def test_it_shows_livekit_refusing_a_recording_with_its_twirp_code(producer, admin, sandbox):
    profile = make_profile(admin)
    sandbox.control.add_room("no-workers-studio")
    fields = {
        "room": "no-workers-studio",
        "storage_profile_id": profile.pk,
        "launch_token": token(),
    }

    answer = client_for(producer).post(RECORD, fields, headers=HTMX)

    html = answer.content.decode()
    job = EgressJob.objects.get()
    assert job.launch_state == LaunchState.REFUSED
    assert "LiveKit refused to start it" in html
    assert "No egress worker accepted the job" in html
    assert "Twirp unavailable" in html
    assert reverse("dashboard-job-detail", args=[job.pk]) in html


def test_it_applies_the_concurrency_limit(producer, admin, sandbox, settings: Settings):
    settings.EGRESS_CONCURRENCY_LIMIT = 1
    profile = make_profile(admin)
    live(sandbox, start(producer, file_config(profile)))
    fields = {"room": "podcast", "storage_profile_id": profile.pk, "launch_token": token()}

    answer = client_for(producer).post(RECORD, fields, headers=HTMX)

    assert "1 of the 1 egress your LiveKit plan runs at once are busy" in answer.content.decode()
    assert EgressJob.objects.count() == 1


# --- Go live -------------------------------------------------------------------------------------
def test_it_offers_destinations_and_streaming_recipes(producer, admin, sandbox):
    destination = make_destination(admin, name="YouTube main")
    profile = make_profile(admin)
    actions.save_recipe(producer, name="Stream it", config=stream_config(destination))
    actions.save_recipe(producer, name="Only a file", config=file_config(profile))

    html = client_for(producer).get(f"{STREAM}?room={ROOM}", headers=HTMX).content.decode()

    assert "YouTube main" in html
    assert "Stream it" in html
    assert "Only a file" not in html
    assert STREAM_KEY not in html


def test_it_goes_live_to_saved_destinations(producer, admin, sandbox: RunningSandbox):
    first = make_destination(admin, name="YouTube")
    second = make_destination(admin, name="Twitch", key="SECRET-jobs-other-key-XYZ123")
    fields = {"room": ROOM, "destination_ids": [first.pk, second.pk], "launch_token": token()}

    answer = client_for(producer).post(STREAM, fields, headers=HTMX)

    job = EgressJob.objects.get()
    assert set(job.destinations.all()) == {first, second}
    assert job.config["outputs"]["stream"] is not None
    assert "Streaming town-hall" in answer.content.decode()
    assert len(sandbox.control.wait_for_status(job.egress_id, "ACTIVE").stream_results) == 2


def test_it_goes_live_with_a_recipe(producer, admin, sandbox):
    destination = make_destination(admin)
    recipe = actions.save_recipe(producer, name="Stream it", config=stream_config(destination))

    client_for(producer).post(
        STREAM, {"room": ROOM, "recipe": recipe.pk, "launch_token": token()}, headers=HTMX
    )

    job = EgressJob.objects.get()
    assert (job.room_name, list(job.destinations.all())) == (ROOM, [destination])


def test_it_refuses_a_recipe_and_destinations_together(producer, admin, sandbox):
    destination = make_destination(admin)
    recipe = actions.save_recipe(producer, name="Stream it", config=stream_config(destination))
    fields = {"room": ROOM, "recipe": recipe.pk, "destination_ids": [destination.pk]}

    answer = client_for(producer).post(STREAM, fields | {"launch_token": token()}, headers=HTMX)

    assert "Pick a recipe or saved destinations, not both." in answer.content.decode()
    assert not EgressJob.objects.exists()


def test_it_gives_the_launch_rules_message_when_nothing_is_picked(producer, admin, sandbox):
    make_destination(admin)

    answer = client_for(producer).post(
        STREAM, {"room": ROOM, "launch_token": token()}, headers=HTMX
    )

    assert "Not started" in answer.content.decode()
    assert not EgressJob.objects.exists()


# --- inside the card -----------------------------------------------------------------------------
def test_it_shows_a_running_egress_inside_its_rooms_card(producer, admin, sandbox):
    job = live(sandbox, start(producer, file_config(make_profile(admin))))

    room = card(live_part(producer))

    assert f'data-egress="{job.egress_id}"' in room
    assert "Room composite" in room
    assert 'data-ticks="up"' in room  # the job page's ticking elapsed time
    assert reverse("dashboard-job-detail", args=[job.pk]) in room
    assert stop_url(job) in room
    assert "hx-confirm=" in room
    assert job.egress_id not in card(live_part(producer), "podcast")


def test_it_shows_each_streams_health_and_a_failing_streams_error(producer, admin, sandbox):
    good = make_destination(admin, name="YouTube")
    bad = actions.create_stream_destination(
        admin, name="Broken", server_url="rtmp://fail.example.com/live", stream_key=STREAM_KEY
    )
    job = live(sandbox, start(producer, stream_config(good, bad)))

    room = card(live_part(producer))

    assert room.count('class="stream') >= 2
    assert "failed to connect to rtmp://fail.example.com/live" in room
    assert "no such host" in room
    assert "<strong>YouTube</strong>" in room
    assert "<strong>Broken</strong>" in room
    assert '<span class="badge stream-active">active</span>' in room
    assert '<span class="badge stream-failed">failed</span>' in room
    assert STREAM_KEY not in room
    assert job.egress_id in room


def test_it_shows_support_the_egress_without_stop(producer, admin, support, sandbox):
    job = live(sandbox, start(producer, file_config(make_profile(admin))))

    room = card(live_part(support))

    assert job.egress_id in room
    assert stop_url(job) not in room


# --- Stop ----------------------------------------------------------------------------------------
def test_it_stops_an_egress_from_its_card(producer, admin, sandbox: RunningSandbox):
    job = live(sandbox, start(producer, file_config(make_profile(admin))))

    answer = client_for(producer).post(stop_url(job), {"confirmed": "1"}, headers=HTMX)

    html = answer.content.decode()
    assert f"Asked LiveKit to stop {job.egress_id}." in html
    assert 'id="live-refresh"' in html
    assert AuditEntry.objects.filter(action=AuditAction.STOPPED, actor=producer).exists()
    sandbox.control.wait_for_status(job.egress_id, "COMPLETE")


def test_it_sends_an_unconfirmed_stop_to_the_job_pages_confirmation(producer, admin, sandbox):
    job = live(sandbox, start(producer, file_config(make_profile(admin))))

    answer = client_for(producer).post(stop_url(job))

    assert answer["Location"] == reverse("dashboard-job-stop", args=[job.pk])
    [info] = [info for info in sandbox.control.egresses() if info.egress_id == job.egress_id]
    assert info.status == egress.EgressStatus.EGRESS_ACTIVE  # not stopped


def test_it_refuses_stop_to_anonymous_support_and_outsiders(
    producer, admin, support, outsider, sandbox
):
    job = live(sandbox, start(producer, file_config(make_profile(admin))))

    assert Client().post(stop_url(job), {"confirmed": "1"}).status_code == 302
    assert client_for(support).post(stop_url(job), {"confirmed": "1"}).status_code == 403
    assert client_for(outsider).post(stop_url(job), {"confirmed": "1"}).status_code == 403
    job.refresh_from_db()
    assert job.is_active


def test_it_refuses_another_producers_stop_unless_sharing_is_on(
    producer, admin, sandbox, settings: Settings
):
    job = live(sandbox, start(producer, file_config(make_profile(admin))))
    other = make_user("other-producer", "producers")
    settings.EGRESS_PRODUCERS_SHARE_CONTROL = False

    assert client_for(other).post(stop_url(job), {"confirmed": "1"}).status_code == 403
    assert stop_url(job) not in card(live_part(other))

    settings.EGRESS_PRODUCERS_SHARE_CONTROL = True
    answer = client_for(other).post(stop_url(job), {"confirmed": "1"}, headers=HTMX)
    assert f"Asked LiveKit to stop {job.egress_id}." in answer.content.decode()


def test_it_lets_an_admin_stop_a_producers_egress(producer, admin, sandbox):
    job = live(sandbox, start(producer, file_config(make_profile(admin))))

    answer = client_for(admin).post(stop_url(job), {"confirmed": "1"}, headers=HTMX)

    assert f"Asked LiveKit to stop {job.egress_id}." in answer.content.decode()


def test_it_leaves_an_audio_sessions_taps_out_of_the_card(producer, admin, sandbox):
    """A tap is the session's (stopped whole from its page): the card's Listening badge leads
    there, and the tap stays in the active egress list below the rooms."""
    job = live(sandbox, start(producer, file_config(make_profile(admin))))
    session = AudioSession.objects.create(room_name=ROOM, started_by=producer)
    AudioTap.objects.create(
        session=session,
        participant_identity="alice",
        track_sid="TR_x",
        job=job,
        token_expires_at=timezone.now(),
    )

    page = live_part(producer)

    assert f'data-egress="{job.egress_id}"' not in card(page)
    assert f'<tr data-egress="{job.egress_id}">' in page


def test_it_reads_every_cards_egress_in_two_queries(
    producer, admin, sandbox, django_assert_num_queries
):
    profile, destination = make_profile(admin), make_destination(admin)
    for room in (ROOM, "podcast"):
        live(sandbox, start(producer, file_config(profile, room=room)))
        live(sandbox, start(producer, stream_config(destination, room=room)))
    client = client_for(producer)

    # The fragment's own 8 (tests/dashboard/test_home.py), then the jobs of the running egress
    # (taps marked in the same query) and their destinations: nothing per card or stream.
    with django_assert_num_queries(10):
        client.get(reverse("dashboard-home-live"))


def test_it_shows_livekit_refusing_go_live_and_keeps_it_on_the_job(producer, admin, sandbox):
    destination = make_destination(admin)
    sandbox.control.add_room("no-workers-studio")
    fields = {"room": "no-workers-studio", "destination_ids": [destination.pk]}

    answer = client_for(producer).post(STREAM, fields | {"launch_token": token()}, headers=HTMX)

    html = answer.content.decode()
    assert "LiveKit refused to start it" in html
    assert "Twirp unavailable" in html
    assert 'id="live-refresh"' in html
    assert EgressJob.objects.get().launch_state == LaunchState.REFUSED


def test_it_sends_a_refused_start_without_script_to_its_job(producer, admin, sandbox):
    profile = make_profile(admin)
    sandbox.control.add_room("no-workers-studio")
    fields = {"room": "no-workers-studio", "storage_profile_id": profile.pk}

    answer = client_for(producer).post(RECORD, fields | {"launch_token": token()})

    job = EgressJob.objects.get()
    assert answer["Location"] == reverse("dashboard-job-detail", args=[job.pk])
