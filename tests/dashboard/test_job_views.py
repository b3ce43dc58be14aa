"""The job list, a job's page and its controls, for each role, against the sandbox."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from livekit.protocol import egress, webhook

from egress_app import actions
from egress_app.actions.egress import NOT_BY_OWNER
from egress_app.models import EgressJob, EgressStatus, LaunchState
from tests.conftest import make_user
from tests.dashboard.test_home import text_of
from tests.jobs import (
    ADHOC,
    ADHOC_KEY,
    OTHER_KEY,
    STREAM_KEY,
    ended,
    file_config,
    live,
    make_destination,
    make_profile,
    start,
    stop_in_livekit,
    stream_config,
)

pytestmark = pytest.mark.django_db

SHOWN_ADHOC = "rtmp://live.example.com/app/{SEC...123}"

LIST = reverse("dashboard-job-list")
ROWS = reverse("dashboard-job-rows")
PAGES = ["dashboard-job-detail", "dashboard-job-live", "dashboard-job-header"]
CONTROLS = [
    "dashboard-job-stop",
    "dashboard-job-layout",
    "dashboard-job-streams-add",
    "dashboard-job-streams-remove",
]


def finished_job(user: User | None, egress_id: str = "EG_done", **fields: object) -> EgressJob:
    fields.setdefault("status", EgressStatus.COMPLETE)
    return EgressJob.objects.create(
        egress_id=egress_id, kind="room_composite", room_name="town-hall", started_by=user, **fields
    )


def url(name: str, job: EgressJob) -> str:
    return reverse(name, args=[job.pk])


@pytest.fixture
def job(producer) -> EgressJob:
    return finished_job(producer)


# --- who may open what --------------------------------------------------------------------------
def all_urls(job: EgressJob) -> list[str]:
    return [LIST, ROWS] + [url(name, job) for name in PAGES + CONTROLS]


def test_it_sends_anonymous_visitors_to_the_login_page(client, job):
    for address in all_urls(job):
        for response in (client.get(address), client.post(address)):
            assert response.status_code == 302
            assert response["Location"] == f"{reverse('login')}?next={address}"


def test_it_refuses_outsiders_everything(client, outsider, job):
    client.force_login(outsider)
    for address in all_urls(job):
        assert client.get(address).status_code == 403
        assert client.post(address).status_code == 403


@pytest.mark.parametrize("persona", ["support", "other"])
@pytest.mark.parametrize("name", CONTROLS)
def test_it_lets_no_one_else_control_a_producers_job(
    client, request, producer, admin, sandbox, name, persona
):
    youtube = make_destination(admin)
    running = live(sandbox, start(producer, stream_config(youtube), adhoc_urls=[ADHOC]))
    other = request.getfixturevalue("support") if persona == "support" else pia()
    client.force_login(other)
    assert client.get(url(name, running)).status_code == 403
    data = {
        "layout": "speaker",
        "adhoc_urls": "rtmp://evil.example.com/app/k3y-abc",
        "output": "adhoc:0",
    }
    assert client.post(url(name, running), data).status_code == 403
    job = EgressJob.objects.get()
    assert (job.status, job.config["room_composite"]["layout"]) == (EgressStatus.ACTIVE, "grid")
    assert job.stream_outputs() == [
        (f"destination:{youtube.pk}", "YouTube"),
        ("adhoc:0", SHOWN_ADHOC),
    ]


def pia() -> User:
    """Another producer."""
    return make_user("pia-producer", "producers")


@pytest.mark.parametrize("persona", ["admin", "owner", "other"])
def test_it_lets_the_owner_and_admins_stop_a_job_and_others_when_shared(
    client, request, producer, admin, sandbox, settings, persona
):
    settings.EGRESS_PRODUCERS_SHARE_CONTROL = persona == "other"
    running = live(sandbox, start(producer, file_config(make_profile(admin))))
    client.force_login({"admin": admin, "owner": producer, "other": pia()}[persona])
    page = client.get(url("dashboard-job-detail", running)).content.decode()
    assert f'href="{url("dashboard-job-stop", running)}"' in page

    response = client.post(url("dashboard-job-stop", running))

    assert response.status_code == 302
    assert EgressJob.objects.get().status == EgressStatus.ENDING


def test_support_stops_the_retry_it_started(client, support, producer, admin, sandbox):
    done = ended(
        sandbox,
        actions.stop_egress(
            producer, live(sandbox, start(producer, file_config(make_profile(admin))))
        ),
    )
    client.force_login(support)
    page = client.get(url("dashboard-job-detail", done)).content.decode()
    token = page.split('name="launch_token" value="')[1].split('"')[0]
    response = client.post(url("dashboard-job-retry", done), {"launch_token": token})
    retry = live(sandbox, EgressJob.objects.get(retry_of=done))
    assert response["Location"] == url("dashboard-job-detail", retry)
    page = client.get(url("dashboard-job-detail", retry)).content.decode()
    assert f'href="{url("dashboard-job-stop", retry)}"' in page

    response = client.post(url("dashboard-job-stop", retry))

    assert response.status_code == 302
    assert EgressJob.objects.get(pk=retry.pk).status == EgressStatus.ENDING


@pytest.mark.parametrize("persona", ["support", "admin"])
def test_it_shows_every_job_to_reviewers(client, request, job, persona):
    client.force_login(request.getfixturevalue(persona))
    assert "EG_done" in text_of(client.get(LIST))
    for name in PAGES:
        assert client.get(url(name, job)).status_code in (200, 286)


def test_it_hides_another_producers_finished_job(client, job):
    client.force_login(make_user("pia-producer", "producers"))
    assert "EG_done" not in text_of(client.get(LIST))
    for name in [*PAGES, "dashboard-job-stop"]:
        assert client.get(url(name, job)).status_code == 404


def test_it_shows_another_producers_running_job_without_its_controls(
    client, producer, admin, sandbox
):
    running = live(sandbox, start(producer, file_config(make_profile(admin))))
    client.force_login(pia())
    assert running.egress_id in text_of(client.get(LIST))
    response = client.get(url("dashboard-job-detail", running))
    assert response.status_code == 200
    words = text_of(response)
    assert "only whoever started it and admins may stop or change it." in words
    assert "Stop this egress" not in words
    assert "Change layout" not in words


def test_it_answers_404_for_an_unknown_job(client, admin):
    client.force_login(admin)
    assert client.get(reverse("dashboard-job-detail", args=[999])).status_code == 404


@pytest.mark.parametrize(
    "name", ["dashboard-job-layout", "dashboard-job-streams-add", "dashboard-job-rows"]
)
def test_it_allows_only_the_right_method(client, producer, job, name):
    client.force_login(producer)
    address = ROWS if name == "dashboard-job-rows" else url(name, job)
    method = client.post if name == "dashboard-job-rows" else client.get
    assert method(address).status_code == 405


# --- the list -----------------------------------------------------------------------------------
def test_it_says_what_to_do_when_there_is_no_job(client, producer):
    client.force_login(producer)
    response = client.get(LIST)
    assert "No jobs yet: nothing has been recorded or streamed." in text_of(response)
    assert f'href="{reverse("dashboard-launch")}"' in response.content.decode()


def test_it_lists_jobs_newest_first_with_their_columns(client, producer, admin, sandbox):
    finished_job(producer, "EG_older", started_at="2026-01-02T10:00:00Z")
    destination = make_destination(admin)
    running = live(sandbox, start(producer, stream_config(destination), adhoc_urls=[ADHOC]))
    client.force_login(producer)
    html = client.get(LIST).content.decode()
    words = text_of(client.get(LIST))

    assert words.index(str(running.egress_id)) < words.index("EG_older")
    assert f"Active Room composite town-hall {running.egress_id} pat-producer" in words
    assert "2 streams" in words
    assert 'hx-trigger="poll, every 30s" data-poll="3"' in html
    assert f'hx-get="{ROWS}' in html
    assert '<time datetime="2026-01-02T10:00:00+00:00">' in html
    assert STREAM_KEY not in html


def test_it_pins_the_query_count_of_the_list(client, producer, django_assert_num_queries):
    for number in range(5):
        finished_job(producer, f"EG_{number}")
    client.force_login(producer)
    # Session, user, the user's and their groups' permissions (once: Django caches them), the
    # jobs with who started them, the user's role. No count: pages are keyset pages. No
    # destinations: none of these jobs streams.
    with django_assert_num_queries(6):
        response = client.get(LIST)
    assert text_of(response).count("Complete Room composite") == 5


def test_it_reads_the_polled_rows_from_the_database_only(client, producer, admin, sandbox):
    job = live(sandbox, start(producer, file_config(make_profile(admin))))
    stop_in_livekit(str(job.egress_id))
    # LiveKit says COMPLETE; a poll that asked it, even swallowing an error, would show that.
    sandbox.control.wait_for_status(str(job.egress_id), "COMPLETE")
    client.force_login(producer)

    response = client.get(ROWS)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith('<tbody id="job-rows"')
    assert "<html" not in html
    assert "Active Room composite" in text_of(response)  # the stored state, not LiveKit's
    assert "Status Active" in text_of(client.get(url("dashboard-job-live", job)))
    assert EgressJob.objects.get().status == EgressStatus.ACTIVE


# --- the job page -------------------------------------------------------------------------------
def test_it_shows_a_jobs_configuration_without_secrets(client, producer, admin, sandbox):
    destination = make_destination(admin, "YouTube main")
    job = live(sandbox, start(producer, stream_config(destination), adhoc_urls=[ADHOC]))
    client.force_login(producer)
    response = client.get(url("dashboard-job-detail", job))
    words = text_of(response)

    assert "Status Active" in words
    assert "Launch Launched" in words
    assert "YouTube main" in words
    assert "rtmp://live.example.com/app/{SEC...123}" in words
    assert "Layout grid" in words
    assert "Preset H264_720P_30" in words
    for secret in (STREAM_KEY, ADHOC_KEY):
        assert secret not in response.content.decode()


def test_it_polls_the_live_part_until_the_job_ends(client, producer, admin, sandbox):
    job = live(sandbox, start(producer, file_config(make_profile(admin))))
    client.force_login(producer)
    live_url = url("dashboard-job-live", job)
    trigger = 'hx-trigger="poll, every 30s" data-poll="2"'
    assert (
        f'hx-get="{live_url}" {trigger}'
        in client.get(url("dashboard-job-detail", job)).content.decode()
    )
    response = client.get(live_url)
    assert response.status_code == 200
    assert trigger in response.content.decode()

    stop_in_livekit(str(job.egress_id))
    ended(sandbox, job)  # what a webhook or the reconciler reports
    response = client.get(live_url, headers={"HX-Request": "true"})

    assert response.status_code == 286
    html = response.content.decode()
    assert "hx-trigger" not in html
    assert 'id="job-controls" class="panel job-controls"' in html
    assert 'hx-swap-oob="true"' in html
    assert "This job can no longer be changed." in text_of(response)
    words = text_of(response)
    assert "Status Complete" in words
    assert "File rec/town-hall.mp4" in words
    assert "https://jobs-recordings.s3.eu-west-1.amazonaws.com/rec/town-hall.mp4" in words


def test_it_shows_livekits_error_in_plain_words(client, producer):
    job = finished_job(
        producer,
        status=EgressStatus.FAILED,
        error="The room does not exist.",
        error_code=404,
        details="Twirp not_found: requested room does not exist",
    )
    client.force_login(producer)
    words = text_of(client.get(url("dashboard-job-detail", job)))
    assert "The room does not exist. HTTP 404 · Twirp not_found: requested room does not" in words
    assert "This job can no longer be changed." in words
    assert "Stop this egress" not in words


def test_it_names_the_cause_of_a_failure_and_what_to_do(client, producer):
    job = finished_job(
        producer, status=EgressStatus.ABORTED, error="Start signal not received", error_code=412
    )
    client.force_login(producer)
    response = client.get(url("dashboard-job-detail", job))
    words = text_of(response)
    assert 'data-cause="start_signal"' in response.content.decode()
    assert "The recording page never signalled its start" in words
    assert "almost always a network or firewall problem" in words
    assert "LiveKit said: Start signal not received HTTP 412" in words


def test_it_shows_the_jobs_timeline_oldest_first_and_livekits_info_on_demand(client, support):
    job = finished_job(None, egress_id="EG_timeline01", status=EgressStatus.STARTING)
    webhooks = [
        webhook.WebhookEvent(
            id=f"EV_tl{n}",
            event=name,
            egress_info=egress.EgressInfo(
                egress_id="EG_timeline01",
                room_name="town-hall",
                status=status,
                updated_at=1_763_700_000_000_000_000 + at,
            ),
        )
        for n, (name, status, at) in enumerate(
            [
                ("egress_updated", egress.EGRESS_ACTIVE, 5),
                ("egress_started", egress.EGRESS_STARTING, 1),  # came late: older
            ]
        )
    ]
    for event in webhooks:
        actions.receive_webhook(event)
    ended = egress.EgressInfo(
        egress_id="EG_timeline01",
        room_name="town-hall",
        status=egress.EGRESS_COMPLETE,
        updated_at=1_763_700_000_000_000_009,
    )
    actions.observe(ended)

    client.force_login(support)
    response = client.get(url("dashboard-job-detail", job))
    words = text_of(response)

    timeline = words[words.index("Timeline") :]
    first = timeline.index("Webhook · egress_updated · Active · applied")
    second = timeline.index("Webhook · egress_started · Starting · older than the job's state")
    third = timeline.index("Reconciler · egress_observed · Complete · applied")
    assert first < second < third
    html = response.content.decode()
    assert '<details class="job-info">' in html
    assert "&quot;egress_id&quot;: &quot;EG_timeline01&quot;" in html


def test_it_says_when_livekit_has_told_nothing_yet(client, producer):
    job = finished_job(producer, status=EgressStatus.STARTING)
    client.force_login(producer)
    words = text_of(client.get(url("dashboard-job-detail", job)))
    assert "Nothing heard from LiveKit about this job yet." in words


def test_it_shows_a_refused_launch(client, producer):
    job = EgressJob.objects.create(
        kind="web", status="", launch_state=LaunchState.REFUSED, started_by=producer
    )
    client.force_login(producer)
    words = text_of(client.get(url("dashboard-job-detail", job)))
    assert f"Job {job.pk}, no egress in LiveKit" in words
    assert "Status Refused by LiveKit" in words


def test_it_tells_livekits_refusal_in_the_timeline_too(client, producer, admin, sandbox):
    sandbox.control.add_room("no-workers-studio")
    with pytest.raises(actions.LaunchError) as refused:
        start(producer, file_config(make_profile(admin), room="no-workers-studio"))
    client.force_login(producer)
    words = text_of(client.get(url("dashboard-job-detail", refused.value.job)))
    assert "LiveKit said: No egress worker accepted the job" in words
    assert "Nothing heard from LiveKit" not in words
    timeline = words.split("Timeline")[1]
    assert "LiveKit's answer · StartRoomCompositeEgress · noted · No egress worker" in timeline
    assert "wait for running egresses to end, or add egress capacity" in words


def test_it_does_not_say_nothing_was_heard_of_a_job_with_livekits_error(client, producer):
    # A job refused before refusals were kept in the ledger: its page shows the error.
    job = EgressJob.objects.create(
        kind="web",
        status="",
        launch_state=LaunchState.REFUSED,
        started_by=producer,
        error="LiveKit rejected the request: bad url",
    )
    client.force_login(producer)
    words = text_of(client.get(url("dashboard-job-detail", job)))
    assert "Nothing heard from LiveKit" not in words
    assert "No events were recorded for this job: what LiveKit said is above." in words


def test_it_shows_no_controls_to_support(client, support, producer, admin, sandbox):
    job = live(sandbox, start(producer, file_config(make_profile(admin))))
    client.force_login(support)
    words = text_of(client.get(url("dashboard-job-detail", job)))
    assert "You can follow this job; only whoever started it and admins may stop or" in words
    assert "Stop this egress" not in words


# --- controls -----------------------------------------------------------------------------------
def test_it_shows_who_started_stopped_and_changed_the_job_in_its_timeline(
    client, producer, admin, sandbox
):
    job = live(sandbox, start(producer, stream_config(make_destination(admin))))
    actions.add_stream_outputs(admin, job, adhoc_urls=[ADHOC])
    actions.update_layout(producer, job, "speaker")
    actions.stop_egress(admin, job)
    client.force_login(producer)

    response = client.get(url("dashboard-job-detail", job))

    words = text_of(response)
    timeline = words[words.index("Timeline") :]
    lines = [
        "Started by pat-producer",
        f"Streams added by ada-admin · {SHOWN_ADHOC} · {NOT_BY_OWNER} (pat-producer)",
        "Layout changed by pat-producer · grid → speaker",
        "Stopped by ada-admin",
        "LiveKit's answer · egress_answer · Ending",
    ]
    at = [timeline.index(line) for line in lines]
    assert at == sorted(at)
    assert ADHOC_KEY not in response.content.decode()


def test_it_stops_a_job_after_confirmation(client, producer, admin, sandbox):
    job = live(sandbox, start(producer, file_config(make_profile(admin))))
    client.force_login(producer)
    stop = url("dashboard-job-stop", job)
    assert f'href="{stop}"' in client.get(url("dashboard-job-detail", job)).content.decode()
    assert "Stop the egress" in text_of(client.get(stop))
    assert EgressJob.objects.get().status == EgressStatus.ACTIVE

    response = client.post(stop, follow=True)

    assert response.redirect_chain == [(url("dashboard-job-detail", job), 302)]
    assert f"Asked LiveKit to stop {job.egress_id}." in text_of(response)
    assert ended(sandbox, job).status == EgressStatus.COMPLETE


def test_it_shows_livekits_refusal_and_the_real_status(client, producer, admin, sandbox):
    job = live(sandbox, start(producer, file_config(make_profile(admin))))
    stop_in_livekit(str(job.egress_id))
    sandbox.control.wait_for_status(str(job.egress_id), "COMPLETE")
    client.force_login(producer)

    response = client.post(url("dashboard-job-stop", job))

    assert response.status_code == 409
    words = text_of(response)
    assert "Not done LiveKit says the egress has already ended (complete)" in words
    assert "Status Complete" in words
    assert EgressJob.objects.get().status == EgressStatus.COMPLETE


def test_it_refuses_to_stop_a_finished_job(client, job, producer):
    client.force_login(producer)
    assert "This job cannot be stopped: it is complete." in text_of(
        client.get(url("dashboard-job-stop", job))
    )
    response = client.post(url("dashboard-job-stop", job))
    assert response.status_code == 409
    assert "This job has already ended (complete): it cannot be stopped." in text_of(response)


def test_it_changes_the_layout(client, producer, admin, sandbox):
    job = live(sandbox, start(producer, file_config(make_profile(admin))))
    client.force_login(producer)
    layout = url("dashboard-job-layout", job)
    assert f'action="{layout}"' in client.get(url("dashboard-job-detail", job)).content.decode()

    response = client.post(layout, {"layout": "speaker-light"}, follow=True)

    assert "Layout changed to speaker-light." in text_of(response)
    assert EgressJob.objects.get().config["room_composite"]["layout"] == "speaker-light"
    response = client.post(layout, {"layout": "mosaic"})
    assert response.status_code == 400
    assert "Select a valid choice." in text_of(response)


def test_it_adds_and_removes_stream_outputs(client, producer, admin, sandbox):
    youtube = make_destination(admin, "YouTube main")
    twitch = make_destination(admin, "Twitch backup", key=OTHER_KEY)
    job = live(sandbox, start(producer, stream_config(youtube)))
    client.force_login(producer)
    page = text_of(client.get(url("dashboard-job-detail", job)))
    form = page.split("Add stream outputs")[1].split("Copy as lk command")[0]
    assert "Twitch backup" in form
    assert "YouTube main" not in form

    response = client.post(
        url("dashboard-job-streams-add", job), {"destination_ids": [twitch.pk]}, follow=True
    )

    assert "Stream outputs added." in text_of(response)
    assert set(EgressJob.objects.get().destinations.all()) == {youtube, twitch}
    remove = f"{url('dashboard-job-streams-remove', job)}?output=destination%3A{twitch.pk}"
    assert f'href="{remove}"' in response.content.decode()
    assert "Stop streaming to Twitch backup?" in text_of(client.get(remove))

    response = client.post(
        url("dashboard-job-streams-remove", job), {"output": f"destination:{twitch.pk}"}
    )

    assert response.status_code == 302
    assert list(EgressJob.objects.get().destinations.all()) == [youtube]


def test_it_explains_a_refused_stream_output(client, producer, admin, sandbox):
    job = live(sandbox, start(producer, stream_config(make_destination(admin))))
    client.force_login(producer)

    response = client.post(url("dashboard-job-streams-add", job), {"adhoc_urls": "srt://x:9000"})

    assert response.status_code == 400
    assert "This job streams over one protocol: RTMP URLs or SRT URLs, not both." in text_of(
        response
    )
    response = client.post(url("dashboard-job-streams-add", job), {})
    assert "Choose a destination or give a stream URL." in text_of(response)


def test_it_answers_404_for_an_unknown_stream_output(client, producer, admin, sandbox):
    job = live(sandbox, start(producer, stream_config(make_destination(admin))))
    client.force_login(producer)
    response = client.post(url("dashboard-job-streams-remove", job), {"output": "adhoc:7"})
    assert response.status_code == 404
    assert "The job does not stream to that output (any more)." in text_of(response)


# --- the header, asked for again when the job ends ----------------------------------------------
def test_it_gives_the_ended_jobs_header_with_retry_and_clears_the_flash(client, producer):
    config = {"kind": "room_composite", "room_name": "town-hall", "outputs": {"file": {}}}
    job = finished_job(producer, launch_state=LaunchState.LAUNCHED, config=config)
    client.force_login(producer)

    response = client.get(url("dashboard-job-header", job))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="job-header" data-final="yes"' in html
    assert "Retry" in text_of(response)
    assert '<ul id="messages" class="messages" role="status" hx-swap-oob="true"></ul>' in html


def test_it_gives_a_running_jobs_header_without_retry(client, producer):
    job = finished_job(producer, status=EgressStatus.ACTIVE, launch_state=LaunchState.LAUNCHED)
    client.force_login(producer)

    response = client.get(url("dashboard-job-header", job))

    assert 'data-final="no"' in response.content.decode()
    assert "Retry" not in text_of(response)


def test_it_marks_the_job_pages_live_part_final_once_the_job_ends(client, producer, job):
    client.force_login(producer)

    html = client.get(url("dashboard-job-detail", job)).content.decode()

    assert 'aria-labelledby="status-heading" data-final="yes"' in html
    assert 'id="job-header" data-final="yes"' in html
