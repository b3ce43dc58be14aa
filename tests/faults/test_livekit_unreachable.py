"""LiveKit out of reach while a producer launches and browses.

A launch writes its job (`launching`) before it calls LiveKit, so a failed call must always move
that row on: `refused` when the call never left (nothing listens), `unknown` when the connection
broke after the request went out (LiveKit may have started it) and no egress could be looked up.
Either way the job page says so in plain words, and no row is left `launching`. Pages that ask
LiveKit say it is unreachable; none answers 500. (The action-level wording, the home page's and
the launch fragments' notices have their own tests in tests/jobs and tests/dashboard.)
"""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator

import pytest
from django.urls import reverse

from egress_app.models import EgressJob, LaunchState
from tests.dashboard.test_home import text_of
from tests.dashboard.test_launch_views import room_composite_form
from tests.jobs import make_profile

pytestmark = pytest.mark.django_db

LAUNCH = reverse("dashboard-launch")


@pytest.fixture
def as_producer(client, producer):
    client.force_login(producer)
    return client


class _HangUp(socketserver.StreamRequestHandler):
    """Reads a whole request and closes the connection without answering (a LiveKit that
    crashes while handling it)."""

    def handle(self) -> None:
        length = 0
        while (line := self.rfile.readline(65536)) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        self.rfile.read(length)


@pytest.fixture
def hanging_up_url() -> Iterator[str]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _HangUp)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def launch_and_open_the_job(client, producer, **headers: str) -> tuple[EgressJob, str]:
    """Submit the launch form; the job it made and the words of the page it leads to."""
    response = client.post(LAUNCH, room_composite_form(make_profile(producer)), headers=headers)
    job = EgressJob.objects.get()
    url = reverse("dashboard-job-detail", args=[job.pk])
    assert response.status_code == (200 if headers else 302)
    assert (response.headers.get("HX-Redirect") or response["Location"]) == url
    page = client.get(url)
    assert page.status_code == 200
    return job, text_of(page)


@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
def test_it_refuses_a_launch_in_plain_words_when_nothing_listens(
    as_producer, producer, settings, closed_port_url, htmx
):
    settings.LIVEKIT_URL = closed_port_url
    headers = {"HX-Request": "true"} if htmx else {}

    job, words = launch_and_open_the_job(as_producer, producer, **headers)

    assert (job.launch_state, job.egress_id, job.status) == (LaunchState.REFUSED, None, "")
    assert f"LiveKit is unreachable at {closed_port_url}: connection refused" in words
    assert "Twirp unavailable: " in words
    assert "Traceback" not in words
    assert not EgressJob.objects.filter(launch_state=LaunchState.LAUNCHING).exists()


def test_it_leaves_a_launch_unknown_when_livekit_hangs_up_and_cannot_be_asked(
    as_producer, producer, settings, hanging_up_url
):
    # The Start request went out, so LiveKit may have started the egress; listing egresses to
    # find it fails the same way.
    settings.LIVEKIT_URL = hanging_up_url

    job, words = launch_and_open_the_job(as_producer, producer)

    assert (job.launch_state, job.egress_id, job.status) == (LaunchState.UNKNOWN, None, "")
    assert job.error == (
        "The connection to LiveKit closed before it answered; LiveKit's egress list could not be "
        f"read either: LiveKit is unreachable at {hanging_up_url}: the connection closed before "
        "LiveKit answered. It may still appear: check the job list before starting it again."
    )
    assert "The connection to LiveKit closed before it answered" in words
    assert not EgressJob.objects.filter(launch_state=LaunchState.LAUNCHING).exists()


def test_it_starts_no_second_job_when_a_refused_launch_is_submitted_again(
    as_producer, producer, settings, closed_port_url
):
    settings.LIVEKIT_URL = closed_port_url
    form = room_composite_form(make_profile(producer))

    first = as_producer.post(LAUNCH, form)
    again = as_producer.post(LAUNCH, form)

    assert first["Location"] == again["Location"]
    assert EgressJob.objects.get().launch_state == LaunchState.REFUSED


def test_it_answers_every_page_while_livekit_is_unreachable(
    as_producer, producer, settings, closed_port_url
):
    settings.LIVEKIT_URL = closed_port_url
    as_producer.post(LAUNCH, room_composite_form(make_profile(producer)))
    job = EgressJob.objects.get()
    asking = {  # pages that ask LiveKit, and what they say instead
        reverse("dashboard-home-live"): f"LiveKit is unreachable at {closed_port_url}",
        reverse("dashboard-launch-rooms"): "Could not load the rooms from LiveKit",
        reverse("dashboard-recipe-rooms"): "Could not load the rooms from LiveKit",
    }
    reading = [  # pages that only read the database (their live parts load on their own)
        reverse("dashboard-home"),
        LAUNCH,
        reverse("dashboard-job-list"),
        reverse("dashboard-job-rows"),
        reverse("dashboard-job-detail", args=[job.pk]),
        reverse("dashboard-recipe-list"),
    ]

    for url, notice in asking.items():
        response = as_producer.get(url)
        assert response.status_code == 200, url
        assert notice in text_of(response), url
    for url in reading:
        assert as_producer.get(url).status_code == 200, url
    # A refused launch is final: its page's polled part answers htmx's "stop polling".
    assert as_producer.get(reverse("dashboard-job-live", args=[job.pk])).status_code == 286
