"""The job page's "Copy as `lk` command", for each role: whoever sees the job sees it."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse
from google.protobuf import json_format
from livekit.protocol import egress

from egress_app.models import EgressJob
from tests.conftest import make_user
from tests.jobs import SECRETS, make_destination, make_profile
from tests.jobs.test_lk_command import launched

pytestmark = pytest.mark.django_db

COMMAND = "lk egress start --type room-composite request.json"


@pytest.fixture
def job(admin, producer) -> EgressJob:
    profile, destination = make_profile(admin), make_destination(admin)
    given = {
        "api": "v1",
        "kind": "room_composite",
        "room_name": "town-hall",
        "room_composite": {"layout": "grid"},
        "outputs": {
            "file": {"filepath": "rec/{room_name}.mp4"},
            "stream": {"destination_ids": [destination.pk], "adhoc": []},
        },
        "storage_profile_id": profile.pk,
    }
    job = launched(given, profile=profile, destinations=(destination,))
    EgressJob.objects.filter(pk=job.pk).update(started_by=producer, status="EGRESS_COMPLETE")
    return job


def page(client, job: EgressJob) -> str:
    response = client.get(reverse("dashboard-job-detail", args=[job.pk]))
    assert response.status_code == 200
    return response.content.decode()


def request_in(text: str) -> egress.RoomCompositeEgressRequest:
    start = text.index('<pre id="lk-request"')
    body = text[text.index(">", start) + 1 : text.index("</pre>", start)]
    return json_format.Parse(html.unescape(body), egress.RoomCompositeEgressRequest())


@pytest.mark.parametrize("persona", ["producer", "support", "admin"])
def test_it_shows_the_command_to_whoever_sees_the_job(client, request, job, persona):
    client.force_login(request.getfixturevalue(persona))
    text = page(client, job)
    assert COMMAND in text
    assert 'data-copy="lk-request" hidden' in text  # app.js shows it; the text is selectable
    parsed = request_in(text)
    assert parsed.file_outputs[0].s3.secret == "<S3_SECRET>"
    assert list(parsed.stream_outputs[0].urls) == ["rtmp://<STREAM_URL_1>"]
    assert "<S3_SECRET>" in html.unescape(text)  # and the placeholders are explained
    assert not [secret for secret in SECRETS if secret in text]


def test_it_sends_anonymous_visitors_to_the_login_page(client, job):
    address = reverse("dashboard-job-detail", args=[job.pk])
    response = client.get(address)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={address}"


def test_it_refuses_outsiders_and_other_producers(client, outsider, job):
    client.force_login(outsider)
    assert client.get(reverse("dashboard-job-detail", args=[job.pk])).status_code == 403
    client.force_login(make_user("pia-producer", "producers"))  # a finished job not theirs
    assert client.get(reverse("dashboard-job-detail", args=[job.pk])).status_code == 404


def test_it_shows_no_command_for_a_job_started_elsewhere(client, support):
    job = EgressJob.objects.create(egress_id="EG_outside", kind="room_composite", external=True)
    client.force_login(support)
    assert "lk egress start" not in page(client, job)
