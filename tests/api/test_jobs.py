"""Jobs through the API, for real through the sandbox: the control rules of the pages (owner
or admin, EGRESS_PRODUCERS_SHARE_CONTROL, support refused), the history's filters and keyset
pages, a job's signed download links, the rooms."""

from __future__ import annotations

import uuid

import pytest
import requests

from egress_app import actions
from egress_app.models import AuditEntry, EgressJob, EgressStatus
from egress_app.roles import PRODUCERS
from tests.api import Api, token_for
from tests.conftest import make_user
from tests.dashboard.test_job_outputs import MP4, _put
from tests.emulators import moto_checks_signatures
from tests.jobs import (
    ended,
    file_config,
    live,
    make_destination,
    make_profile,
    start,
    stream_config,
)

pytestmark = pytest.mark.django_db


def api_of(user) -> Api:
    return Api(token_for(user))


def running(sandbox, producer, admin) -> EgressJob:
    return live(sandbox, start(producer, file_config(make_profile(admin))))


def finished(user, room: str = "town-hall", **fields) -> EgressJob:
    return EgressJob.objects.create(
        egress_id=f"EG_{uuid.uuid4().hex[:12]}",
        kind="room_composite",
        room_name=room,
        status=EgressStatus.COMPLETE,
        started_by=user,
        **fields,
    )


# --- control ------------------------------------------------------------------------------------
@pytest.mark.parametrize("persona", ["producer", "admin"])
def test_the_owner_and_admins_stop_a_job(request, producer, admin, sandbox, persona):
    job = running(sandbox, producer, admin)
    response = api_of(request.getfixturevalue(persona)).post(f"/jobs/{job.pk}/stop")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == EgressStatus.ENDING
    assert ended(sandbox, job).status == EgressStatus.COMPLETE
    entry = AuditEntry.objects.get(action="stopped")
    assert entry.via == "API token ci"


@pytest.mark.parametrize("action", ["stop", "layout", "streams", "streams/remove"])
def test_support_and_other_producers_may_not_control_a_job(
    producer, support, admin, sandbox, action
):
    job = running(sandbox, producer, admin)
    bodies = {"layout": {"layout": "speaker"}, "streams": {"destination_ids": [1]}}
    body = bodies.get(action, {"output": "destination:1"})
    for user in (support, make_user("pia-producer", PRODUCERS)):
        response = api_of(user).post(f"/jobs/{job.pk}/{action}", body)
        assert response.status_code == 403
        assert "Only the person who started this job" in response.json()["detail"]
    assert sandbox.control.egress(job.egress_id).status == 1  # still ACTIVE


def test_producers_share_control_when_the_setting_says_so(producer, admin, sandbox, settings):
    settings.EGRESS_PRODUCERS_SHARE_CONTROL = True
    job = running(sandbox, producer, admin)
    other = api_of(make_user("pia-producer", PRODUCERS))
    assert other.post(f"/jobs/{job.pk}/stop").status_code == 200


def test_it_changes_the_layout_and_refuses_an_empty_one(producer, admin, sandbox):
    job = running(sandbox, producer, admin)
    api = api_of(producer)
    assert api.post(f"/jobs/{job.pk}/layout", {"layout": "speaker"}).status_code == 200
    assert EgressJob.objects.get().config["room_composite"]["layout"] == "speaker"
    empty = api.post(f"/jobs/{job.pk}/layout", {"layout": ""})
    assert empty.status_code == 400
    assert "layout" in empty.json()["errors"]


def test_it_adds_and_removes_streams(producer, admin, sandbox):
    youtube = make_destination(admin)
    twitch = make_destination(admin, name="Twitch", key="SECRET-api-twitch-key")
    job = live(sandbox, start(producer, stream_config(youtube)))
    api = api_of(producer)
    added = api.post(f"/jobs/{job.pk}/streams", {"destination_ids": [twitch.pk]})
    assert added.status_code == 200, added.json()
    outputs = {o["output"]: o["label"] for o in added.json()["stream_outputs"]}
    assert outputs == {f"destination:{youtube.pk}": "YouTube", f"destination:{twitch.pk}": "Twitch"}
    assert "SECRET" not in added.content.decode()
    removed = api.post(f"/jobs/{job.pk}/streams/remove", {"output": f"destination:{twitch.pk}"})
    assert removed.status_code == 200
    assert len(removed.json()["stream_outputs"]) == 1
    unknown = api.post(f"/jobs/{job.pk}/streams/remove", {"output": "adhoc:7"})
    assert unknown.status_code == 400
    assert unknown.json()["errors"] == {
        "output": "The job does not stream to that output (any more)."
    }


def test_it_refuses_to_stop_a_finished_job_in_plain_words(producer):
    job = finished(producer)
    response = api_of(producer).post(f"/jobs/{job.pk}/stop")
    assert response.status_code == 409
    assert response.json()["detail"].startswith("This job has already ended (complete)")
    assert response.json()["twirp_code"] is None


def test_another_producers_finished_job_is_not_found(producer):
    job = finished(make_user("pia-producer", PRODUCERS))
    api = api_of(producer)
    assert api.get(f"/jobs/{job.pk}").status_code == 404
    assert api.post(f"/jobs/{job.pk}/stop").status_code == 404


# --- the list -----------------------------------------------------------------------------------
def test_it_lists_jobs_with_the_historys_filters_and_keyset_pages(admin):
    for n in range(55):
        finished(admin, room=f"show-{n:02d}")
    finished(admin, room="podcast")
    api = api_of(admin)
    first = api.get("/jobs", room="show").json()
    assert len(first["jobs"]) == 50
    assert first["previous"] is None
    assert first["jobs"][0]["room_name"] == "show-54"  # newest first
    second = api.get("/jobs", room="show", after=first["next"]).json()
    assert [j["room_name"] for j in second["jobs"]] == [f"show-{n:02d}" for n in range(4, -1, -1)]
    assert second["next"] is None
    by_room = api.get("/jobs", sort="room", status="EGRESS_COMPLETE", room="pod").json()
    assert [j["room_name"] for j in by_room["jobs"]] == ["podcast"]


def test_each_role_lists_the_jobs_its_pages_show(producer, support, admin):
    mine, theirs = finished(producer), finished(admin)
    assert [j["id"] for j in api_of(producer).get("/jobs").json()["jobs"]] == [mine.pk]
    for reviewer in (support, admin):
        listed = [j["id"] for j in api_of(reviewer).get("/jobs").json()["jobs"]]
        assert listed == [theirs.pk, mine.pk]


def test_it_refuses_filters_it_cannot_read(admin):
    response = api_of(admin).get("/jobs", since="2026-13-01", status="nope")
    assert response.status_code in (400, 422)
    assert response.json()["errors"]


# --- a job --------------------------------------------------------------------------------------
def test_it_gives_a_job_with_a_signed_download_link(producer, support, s3_storage, moto_s3):
    profile = actions.create_storage_profile(
        producer, name="Moto", provider="s3", **{k: s3_storage[k] for k in ("config", "secrets")}
    )
    key = f"recordings/{uuid.uuid4().hex}/show.mp4"
    _put(moto_s3, key, MP4)
    job = finished(
        producer,
        storage_profile=profile,
        results={"files": [{"filename": key, "location": "s3://x", "size": len(MP4)}]},
    )
    for user in (producer, support):
        body = api_of(user).get(f"/jobs/{job.pk}").json()
        [output] = body["outputs"]
        assert (output["kind"], output["name"], output["size"]) == ("file", "show.mp4", len(MP4))
        assert "X-Amz-Signature=" in output["download_url"]
        with moto_checks_signatures(moto_s3, False):  # moto cannot check a presigned URL
            assert requests.get(output["download_url"], timeout=10).content == MP4
        assert s3_storage["secrets"]["secret"] not in str(body)


def test_it_says_why_a_job_has_no_links(producer):
    job = finished(producer, results={"files": [{"filename": "a.mp4", "size": 3}]})
    body = api_of(producer).get(f"/jobs/{job.pk}").json()
    assert body["outputs"][0]["download_url"] is None
    assert "launched without a storage profile" in body["outputs_error"]


# --- rooms --------------------------------------------------------------------------------------
@pytest.mark.parametrize("persona", ["producer", "support", "admin"])
def test_it_lists_the_open_rooms(request, sandbox, persona):
    rooms = api_of(request.getfixturevalue(persona)).get("/rooms").json()
    town_hall = next(room for room in rooms if room["name"] == "town-hall")
    assert town_hall["num_participants"] >= 1


def test_it_says_when_livekit_cannot_be_reached(producer, settings, closed_port_url):
    settings.LIVEKIT_URL = closed_port_url
    response = api_of(producer).get("/rooms")
    assert response.status_code == 502
    assert response.json()["twirp_code"]
    assert response.json()["detail"]


@pytest.mark.parametrize(
    ("persona", "sees"), [("producer", 200), ("support", 200), ("admin", 200), ("outsider", 403)]
)
def test_each_role_gets_the_job_its_pages_show(request, producer, persona, sees):
    job = finished(producer)
    response = api_of(request.getfixturevalue(persona)).get(f"/jobs/{job.pk}")
    assert response.status_code == sees
    if sees == 200:
        assert response.json()["id"] == job.pk
