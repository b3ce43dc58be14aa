"""Retry and Clone and edit on the job page, for each role, against the sandbox: who may start
a finished job again, what the page offers whom, and the links both ways along the chain."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from egress_app import actions
from egress_app.actions.retry import UNKNOWN
from egress_app.models import EgressJob, LaunchState
from egress_app.sandbox.testing import RunningSandbox
from tests.conftest import make_user
from tests.dashboard.test_home import text_of
from tests.dashboard.test_launch_views import room_composite_form
from tests.jobs import (
    file_config,
    live,
    make_destination,
    make_profile,
    new_token,
    start,
    started_outside,
    stopped,
    stream_config,
)
from tests.jobs.test_start import silent_start  # noqa: F401 (a fixture, used by name)

pytestmark = pytest.mark.django_db

LAUNCH = reverse("dashboard-launch")


def retry_url(job: EgressJob) -> str:
    return reverse("dashboard-job-retry", args=[job.pk])


def page_url(job: EgressJob) -> str:
    return reverse("dashboard-job-detail", args=[job.pk])


@pytest.fixture
def done(producer, admin, sandbox: RunningSandbox) -> EgressJob:
    """The producer's recording, stopped: a finished job to retry."""
    return stopped(sandbox, producer, start(producer, file_config(make_profile(admin))))


def post_retry(client, job: EgressJob, token: str | None = None):
    return client.post(retry_url(job), {"launch_token": token or new_token()})


def nothing_written(sandbox: RunningSandbox) -> bool:
    return EgressJob.objects.count() == 1 and len(sandbox.control.egresses()) == 1


def the_retry(job: EgressJob) -> EgressJob:
    return EgressJob.objects.get(retry_of=job)


def retry_token(html: str) -> str:
    match = re.search(r'name="launch_token" value="([0-9a-f-]{36})"', html)
    assert match is not None
    return match.group(1)


# --- who may retry ------------------------------------------------------------------------------
def test_it_sends_anonymous_visitors_to_the_login_page(client, done, sandbox):
    response = post_retry(client, done)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={retry_url(done)}"
    assert nothing_written(sandbox)


def test_it_refuses_outsiders(client, outsider, done, sandbox):
    client.force_login(outsider)

    assert post_retry(client, done).status_code == 403
    assert nothing_written(sandbox)


def test_it_refuses_another_producer(client, done, sandbox):
    # Another producer's finished job is not theirs to know about: 404, as on its page.
    client.force_login(make_user("pia-producer", "producers"))

    assert post_retry(client, done).status_code == 404
    assert nothing_written(sandbox)


def test_it_only_answers_post(client, producer, done, sandbox):
    client.force_login(producer)

    assert client.get(retry_url(done)).status_code == 405
    assert nothing_written(sandbox)


@pytest.mark.parametrize("persona", ["producer", "support", "admin"])
def test_it_lets_the_owner_and_reviewers_retry(client, request, persona, done, sandbox):
    user: User = request.getfixturevalue(persona)
    client.force_login(user)

    response = post_retry(client, done)

    again = the_retry(done)
    assert response.status_code == 302
    assert response["Location"] == page_url(again)
    assert again.started_by == user
    assert again.launch_state == LaunchState.LAUNCHED
    assert len(sandbox.control.egresses()) == 2
    assert f"Started job {done.pk} again as job {again.pk}." in text_of(client.get(page_url(again)))


def test_a_double_submit_starts_one_egress(client, producer, done, sandbox):
    client.force_login(producer)
    token = retry_token(client.get(page_url(done)).content.decode())

    first, second = post_retry(client, done, token), post_retry(client, done, token)

    assert first["Location"] == second["Location"] == page_url(the_retry(done))
    assert EgressJob.objects.count() == 2
    assert len(sandbox.control.egresses()) == 2


def test_it_shows_why_a_running_job_cannot_be_retried(client, producer, admin, sandbox):
    running = live(sandbox, start(producer, file_config(make_profile(admin))))
    client.force_login(producer)

    response = post_retry(client, running)

    assert response.status_code == 400
    assert "This job is still running (active)" in text_of(response)
    assert nothing_written(sandbox)


def test_it_shows_a_configuration_that_no_longer_holds(client, producer, admin, sandbox):
    youtube = make_destination(admin)
    job = stopped(sandbox, producer, start(producer, stream_config(youtube)))
    actions.delete_stream_destination(admin, youtube)
    client.force_login(producer)

    response = post_retry(client, job)

    assert response.status_code == 400
    assert "Not done A chosen destination no longer exists." in text_of(response)
    assert nothing_written(sandbox)


def test_it_shows_livekits_refusal_on_the_new_job(client, producer, admin, sandbox):
    sandbox.control.add_room("studio-b")
    job = stopped(sandbox, producer, start(producer, file_config(make_profile(admin), "studio-b")))
    sandbox.control.delete_room("studio-b")
    client.force_login(producer)

    response = post_retry(client, job)

    again = the_retry(job)
    assert response["Location"] == page_url(again)
    assert again.launch_state == LaunchState.REFUSED
    assert "studio-b" in text_of(client.get(page_url(again)))


# --- what the job page offers -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("persona", "retry", "clone"),
    [("producer", True, True), ("support", True, False), ("admin", True, True)],
)
def test_it_offers_retry_and_clone_by_role(client, request, persona, retry, clone, done):
    client.force_login(request.getfixturevalue(persona))

    html = client.get(page_url(done)).content.decode()

    assert (f'action="{retry_url(done)}"' in html) is retry
    assert (f'href="{LAUNCH}?clone={done.pk}"' in html) is clone


def test_it_offers_no_retry_while_the_job_runs(client, producer, admin, sandbox):
    running = live(sandbox, start(producer, file_config(make_profile(admin))))
    client.force_login(producer)

    html = client.get(page_url(running)).content.decode()

    assert retry_url(running) not in html
    assert f"{LAUNCH}?clone={running.pk}" in html  # cloning a running job is a new launch


@pytest.mark.usefixtures("silent_start")
def test_it_offers_only_clone_for_a_launch_livekit_never_answered(client, producer, admin):
    with pytest.raises(actions.LaunchError) as caught:
        start(producer, file_config(make_profile(admin)))
    unknown = caught.value.job
    assert unknown.launch_state == LaunchState.UNKNOWN
    client.force_login(producer)

    html = client.get(page_url(unknown)).content.decode()
    response = post_retry(client, unknown)

    assert retry_url(unknown) not in html
    assert f"{LAUNCH}?clone={unknown.pk}" in html
    assert response.status_code == 400
    assert UNKNOWN in text_of(response)
    assert EgressJob.objects.count() == 1


def test_it_offers_nothing_for_a_job_started_outside_the_dashboard(client, admin, sandbox):
    external = started_outside(sandbox)
    client.force_login(admin)

    html = client.get(page_url(external)).content.decode()

    assert retry_url(external) not in html
    assert "?clone=" not in html


def test_it_links_the_retry_and_the_original_both_ways(client, support, done, sandbox):
    client.force_login(support)
    post_retry(client, done)
    again = the_retry(done)

    original = client.get(page_url(done)).content.decode()
    retried = client.get(page_url(again)).content.decode()

    assert f'Retried as: <a href="{page_url(again)}">job {again.pk}</a>' in original
    assert f'Retry of <a href="{page_url(done)}">job {done.pk}</a>' in retried


def test_it_names_without_a_link_a_retry_the_producer_may_not_open(
    client, producer, support, done, sandbox
):
    client.force_login(support)
    post_retry(client, done)
    again = stopped(sandbox, support, the_retry(done))
    client.force_login(producer)

    text = text_of(client.get(page_url(done)))

    assert f"Retried as: job {again.pk}" in text
    assert page_url(again) not in client.get(page_url(done)).content.decode()


# --- clone and edit -----------------------------------------------------------------------------
def test_clone_and_edit_links_the_new_job_to_the_original(client, producer, admin, done, sandbox):
    client.force_login(producer)
    html = client.get(f"{LAUNCH}?clone={done.pk}").content.decode()
    assert f'name="retry_of" value="{done.pk}"' in html
    assert f"A clone of job {done.pk}" in text_of(client.get(f"{LAUNCH}?clone={done.pk}"))

    form = room_composite_form(done.storage_profile, retry_of=str(done.pk))
    response = client.post(LAUNCH, form)

    again = the_retry(done)
    assert response["Location"] == page_url(again)
    assert again.config["room_composite"]["layout"] == "speaker"  # edited before starting


def test_clone_and_edit_ignores_a_job_the_user_may_not_see(client, done, sandbox):
    other = make_user("pia-producer", "producers")
    client.force_login(other)

    response = client.post(LAUNCH, room_composite_form(done.storage_profile, retry_of=done.pk))

    assert response.status_code == 302
    assert not EgressJob.objects.filter(retry_of=done).exists()
    assert EgressJob.objects.filter(started_by=other).count() == 1


def test_clone_and_edit_links_only_a_job_the_user_may_retry(client, producer, admin, sandbox):
    # Another producer's running job: visible to every producer, but not theirs to retry.
    running = live(sandbox, start(producer, file_config(make_profile(admin))))
    other = make_user("pia-producer", "producers")
    client.force_login(other)

    page = client.get(f"{LAUNCH}?clone={running.pk}").content.decode()
    invalid = client.post(LAUNCH, {"retry_of": str(running.pk), "launch_token": new_token()})
    started = client.post(
        LAUNCH, room_composite_form(running.storage_profile, retry_of=str(running.pk))
    )

    assert f'name="retry_of" value="{running.pk}"' not in page
    assert "A clone of job" not in page
    assert invalid.status_code == 200
    assert "A clone of job" not in text_of(invalid)
    assert started.status_code == 302
    assert not EgressJob.objects.filter(retry_of=running).exists()
