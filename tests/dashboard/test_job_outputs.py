"""A finished job's outputs on its page: Play, Download, HLS and thumbnails through the
dashboard's own links (each a redirect to a freshly signed URL), for each role, against moto."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth.models import User
from django.urls import reverse

from egress_app import actions
from egress_app.models import EgressJob, EgressStatus, StorageProfile
from tests.conftest import make_user
from tests.emulators import MotoS3, moto_checks_signatures

pytestmark = pytest.mark.django_db

MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64
PLAYLIST = (
    b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nshow_00000.ts\n"
    b"#EXTINF:2.0,\nshow_00001.ts\n#EXT-X-ENDLIST\n"
)


@pytest.fixture
def folder() -> str:
    return f"recordings/{uuid.uuid4().hex}"


@pytest.fixture
def profile(producer: User, s3_storage: dict[str, Any]) -> StorageProfile:
    return actions.create_storage_profile(
        producer,
        name="Moto",
        provider="s3",
        config=s3_storage["config"],
        secrets=s3_storage["secrets"],
    )


def _put(moto_s3: MotoS3, key: str, body: bytes) -> None:
    moto_s3.client().put_object(Bucket=moto_s3.bucket, Key=key, Body=body)


@pytest.fixture
def job(producer: User, profile: StorageProfile, moto_s3: MotoS3, folder: str) -> EgressJob:
    _put(moto_s3, f"{folder}/show.mp4", MP4)
    _put(moto_s3, f"{folder}/empty.ogg", b"")
    _put(moto_s3, f"{folder}/show.m3u8", PLAYLIST)
    for n in range(2):
        _put(moto_s3, f"{folder}/show_{n:05d}.ts", b"G" * 188)
        _put(moto_s3, f"{folder}/shot_{n:05d}.jpeg", b"\xff\xd8\xff")
    results = {
        "files": [
            {"filename": f"{folder}/show.mp4", "location": "s3://x", "size": len(MP4)},
            {"filename": f"{folder}/empty.ogg", "location": "s3://y", "size": 10},
            {"filename": f"{folder}/gone.mp4", "location": "s3://z", "size": 10},
        ],
        "segments": [{"playlist_name": f"{folder}/show.m3u8", "segment_count": 2}],
        "images": [{"filename_prefix": f"{folder}/shot", "image_count": 2}],
    }
    return EgressJob.objects.create(
        egress_id=f"EG_{uuid.uuid4().hex[:12]}",
        kind="room_composite",
        room_name="town-hall",
        status=EgressStatus.COMPLETE,
        started_by=producer,
        storage_profile=profile,
        results=results,
        config={"kind": "room_composite", "outputs": {"file": {"filepath": "x"}}},
    )


def links(job: EgressJob) -> list[str]:
    return [
        reverse("dashboard-job-outputs", args=[job.pk]),
        reverse("dashboard-job-output-play", args=[job.pk, 0]),
        reverse("dashboard-job-output-download", args=[job.pk, 0]),
        reverse("dashboard-job-playlist", args=[job.pk, 0]),
        reverse("dashboard-job-object", args=[job.pk, "token"]),
    ]


def test_it_sends_anonymous_visitors_to_the_login_page(client, job):
    for address in links(job):
        response = client.get(address)
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('login')}?next={address}"


def test_it_refuses_people_without_a_role(client, job, outsider):
    client.force_login(outsider)
    for address in links(job):
        assert client.get(address).status_code == 403


def test_it_hides_another_producers_finished_job(client, job):
    client.force_login(make_user("pia-producer", "producers"))
    for address in links(job):
        assert client.get(address).status_code == 404


@pytest.mark.parametrize("persona", ["producer", "support", "admin"])
def test_it_redirects_whoever_sees_the_job_to_a_fresh_signed_url(client, job, persona, request):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(reverse("dashboard-job-output-play", args=[job.pk, 0]))
    assert response.status_code == 302
    assert response["Cache-Control"] == "private, no-store"
    location = urlsplit(response["Location"])
    assert location.path.endswith(job.results["files"][0]["filename"])
    assert "X-Amz-Signature" in parse_qs(location.query)


def test_it_asks_for_an_attachment_on_download(client, job, producer):
    client.force_login(producer)
    response = client.get(reverse("dashboard-job-output-download", args=[job.pk, 0]))
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["response-content-disposition"] == ['attachment; filename="show.mp4"']


def test_it_signs_a_url_that_gets_the_file(client, job, producer, moto_s3):
    client.force_login(producer)
    location = client.get(reverse("dashboard-job-output-play", args=[job.pk, 0]))["Location"]
    with moto_checks_signatures(moto_s3, False):
        assert requests.get(location, timeout=10).content == MP4


def test_it_answers_404_for_an_output_the_job_does_not_have(client, job, producer):
    client.force_login(producer)
    assert client.get(reverse("dashboard-job-output-play", args=[job.pk, 9])).status_code == 404


def test_it_shows_players_download_links_and_what_is_missing_or_empty(client, job, producer):
    client.force_login(producer)
    page = client.get(reverse("dashboard-job-outputs", args=[job.pk])).content.decode()
    play = reverse("dashboard-job-output-play", args=[job.pk, 0])
    assert f'<video controls preload="metadata" src="{play}">' in page
    assert reverse("dashboard-job-output-download", args=[job.pk, 0]) in page
    assert 'data-state="empty"' in page
    assert 'data-state="missing"' in page
    assert reverse("dashboard-job-output-download", args=[job.pk, 1]) not in page
    assert f'data-hls="{reverse("dashboard-job-playlist", args=[job.pk, 0])}"' in page
    assert page.count("<img ") == 2


def test_it_makes_empty_output_a_failure_found_in_storage(client, job, producer):
    client.force_login(producer)
    client.get(reverse("dashboard-job-outputs", args=[job.pk]))
    job.refresh_from_db()
    assert job.cause == "empty_output"
    assert job.results["objects"][job.results["files"][1]["filename"]] == 0
    assert job.results["objects"][job.results["files"][2]["filename"]] is None


def test_it_trusts_storage_over_a_reported_zero_size(client, job, producer):
    files = job.results["files"][:1]
    files[0]["size"] = 0
    job.results = {**job.results, "files": files}
    job.save()
    assert job.cause == "empty_output"  # inferred from LiveKit's report
    client.force_login(producer)
    client.get(reverse("dashboard-job-outputs", args=[job.pk]))
    job.refresh_from_db()
    assert job.cause == ""


def test_it_serves_the_playlist_with_the_dashboards_segment_links(client, job, producer):
    client.force_login(producer)
    response = client.get(reverse("dashboard-job-playlist", args=[job.pk, 0]))
    assert response["Content-Type"] == "application/vnd.apple.mpegurl"
    segments = [line for line in response.content.decode().splitlines() if line and line[0] != "#"]
    prefix = reverse("dashboard-job-object", args=[job.pk, "x"])[:-1]
    assert len(segments) == 2
    assert all(s.startswith(prefix) for s in segments)
    redirect = client.get(segments[1])
    assert urlsplit(redirect["Location"]).path.endswith("/show_00001.ts")


def test_it_refuses_an_object_link_not_made_for_this_job(client, job, producer, profile, folder):
    client.force_login(producer)
    playlist = client.get(reverse("dashboard-job-playlist", args=[job.pk, 0])).content.decode()
    segment = next(line for line in playlist.splitlines() if line and line[0] != "#")
    other = EgressJob.objects.create(
        kind="room_composite",
        started_by=producer,
        status="EGRESS_COMPLETE",
        storage_profile=profile,
    )
    token = segment.rsplit("/", 1)[1]
    assert client.get(reverse("dashboard-job-object", args=[other.pk, token])).status_code == 404
    assert client.get(segment[:-2] + "xx").status_code == 404


def test_it_says_why_an_external_job_has_no_link(client, job, producer):
    EgressJob.objects.filter(pk=job.pk).update(external=True, storage_profile=None)
    client.force_login(producer)
    page = client.get(reverse("dashboard-job-outputs", args=[job.pk])).content.decode()
    assert "started outside the dashboard" in page
    assert "<video" not in page
    response = client.get(reverse("dashboard-job-output-download", args=[job.pk, 0]))
    assert response.status_code == 409
    assert "started outside the dashboard" in response.content.decode()


def test_it_lets_the_job_page_play_from_the_store(client, job, producer, moto_s3):
    client.force_login(producer)
    response = client.get(reverse("dashboard-job-detail", args=[job.pk]))
    policy = response["Content-Security-Policy"]
    media = next(part for part in policy.split(";") if part.strip().startswith("media-src"))
    assert moto_s3.endpoint in media
    assert "blob:" in media
    assert 'id="job-recordings"' in response.content.decode()


def test_it_never_puts_a_signed_url_or_secret_in_the_page(client, job, producer, s3_storage):
    client.force_login(producer)
    page = client.get(reverse("dashboard-job-detail", args=[job.pk])).content.decode()
    page += client.get(reverse("dashboard-job-outputs", args=[job.pk])).content.decode()
    assert "X-Amz-Signature" not in page
    assert s3_storage["secrets"]["secret"] not in page


@pytest.mark.parametrize("provider", ["azure", "gcp", "alioss"])
def test_it_plays_from_every_provider_through_the_same_link(client, producer, provider, request):
    profile_fixture = {"azure": "azure_storage", "gcp": "gcs_storage", "alioss": "alioss_storage"}
    storage = request.getfixturevalue(profile_fixture[provider])
    profile = actions.create_storage_profile(
        producer,
        name=provider,
        provider=provider,
        config=storage["config"],
        secrets=storage["secrets"],
    )
    key = f"recordings/{uuid.uuid4().hex}/show.mp4"
    if provider == "azure":
        request.getfixturevalue("azurite").service().get_blob_client(
            storage["config"]["container_name"], key
        ).upload_blob(MP4)
    elif provider == "gcp":
        gcs = request.getfixturevalue("gcs_emulator")
        gcs.client().bucket(gcs.bucket).blob(key).upload_from_string(MP4)
    else:
        oss = request.getfixturevalue("oss_standin")
        oss.buckets.setdefault("egress-signed-views", {})[key] = MP4
        profile.config = {**profile.config, "bucket": "egress-signed-views"}
        profile.save()
    job = EgressJob.objects.create(
        kind="room_composite",
        status=EgressStatus.COMPLETE,
        started_by=producer,
        storage_profile=profile,
        results={"files": [{"filename": key, "location": "x", "size": len(MP4)}]},
    )
    client.force_login(producer)
    location = client.get(reverse("dashboard-job-output-play", args=[job.pk, 0]))["Location"]
    assert requests.get(location, timeout=10).content == MP4
    assert (
        'data-state="'
        not in client.get(reverse("dashboard-job-outputs", args=[job.pk])).content.decode()
    )
