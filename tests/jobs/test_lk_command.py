"""A job's "Copy as `lk` command": the request LiveKit's CLI takes, secrets as placeholders."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.protobuf import json_format
from livekit.protocol import egress

from egress_app.actions.egress import WEBSOCKET_REF
from egress_app.crypto import encrypt_json
from egress_app.launch.command import lk_command
from egress_app.launch.normalize import normalize_launch_config
from egress_app.livekit.redact import redact_stream_url
from egress_app.models import EgressJob, StorageProfile, StreamDestination
from tests.jobs import ADHOC, SECRETS, STREAM_KEY, make_destination, make_profile

pytestmark = pytest.mark.django_db

WEBSOCKET = "wss://asr.example.com/in?token=SECRET-jobs-ws-token-XYZ123"
# What `lk egress start --type TYPE` parses the file as (livekit-cli cmd/lk/egress.go).
V1_REQUESTS = {
    "room-composite": egress.RoomCompositeEgressRequest,
    "web": egress.WebEgressRequest,
    "participant": egress.ParticipantEgressRequest,
    "track-composite": egress.TrackCompositeEgressRequest,
    "track": egress.TrackEgressRequest,
}
SOURCES = {
    "room_composite": {"layout": "speaker"},
    "web": {"url": "https://example.com/show"},
    "participant": {"identity": "host"},
    "track_composite": {"audio_track_id": "TR_audio", "video_track_id": "TR_video"},
}


def launched(
    given: dict[str, Any],
    *,
    profile: StorageProfile | None = None,
    destinations: tuple[StreamDestination, ...] = (),
    adhoc: tuple[str, ...] = (),
) -> EgressJob:
    """The job as a Start keeps it (actions.egress `_create_job`): the configuration with the
    websocket URL redacted, the ad-hoc URLs redacted, and both real URLs kept encrypted on the
    job, where a command that read them would find them."""
    config: Any = normalize_launch_config(given, adhoc_urls=list(adhoc))
    kept = {f"adhoc:{n}": url for n, url in enumerate(adhoc)}
    if (track := config.get("track")) and track.get("websocket_url"):
        kept[WEBSOCKET_REF] = track["websocket_url"]
        track["websocket_url"] = redact_stream_url(track["websocket_url"])
    job = EgressJob.objects.create(
        egress_id=f"EG_{EgressJob.objects.count()}",
        kind=config["kind"],
        room_name=config.get("room_name", ""),
        config=config,
        storage_profile=profile,
        adhoc_outputs=[redact_stream_url(url) for url in adhoc],
        encrypted_secrets=encrypt_json(kept) if kept else "",
    )
    job.destinations.set(destinations)
    return job


def parsed(job: EgressJob) -> tuple[str, Any]:
    command = lk_command(job)
    assert command is not None
    for secret in [*SECRETS, WEBSOCKET.rsplit("=", 1)[1]]:
        assert secret not in command.request_json
        assert secret not in command.command
        assert all(secret not in text for pair in command.placeholders for text in pair)
    line = command.command.split()
    assert line[:3] == ["lk", "egress", "start"]
    assert line[-1] == "request.json"
    message = V1_REQUESTS[line[4]]() if "--type" in line else egress.StartEgressRequest()
    return command.request_json, json_format.Parse(command.request_json, message)


@pytest.mark.parametrize("kind", sorted(SOURCES))
@pytest.mark.parametrize("api", ["v1", "v2"])
def test_it_gives_each_kinds_request_as_the_cli_parses_it(admin, kind, api):
    profile = make_profile(admin)
    given = {
        "api": api,
        "kind": kind,
        "room_name": "town-hall",
        kind: SOURCES[kind],
        "outputs": {"file": {"filepath": "rec/{room_name}.mp4"}},
        "storage_profile_id": profile.pk,
    }
    text, request = parsed(launched(given, profile=profile))
    assert "<S3_ACCESS_KEY>" in text
    assert "<S3_SECRET>" in text
    assert "<S3_PROXY_PASSWORD>" in text
    assert "jobs-recordings" in text  # the bucket is no secret
    if api == "v1":
        assert request.file_outputs[0].s3.secret == "<S3_SECRET>"
        assert request.file_outputs[0].filepath == "rec/{room_name}.mp4"
    else:
        assert request.storage.s3.access_key == "<S3_ACCESS_KEY>"
        assert request.outputs[0].file.filepath == "rec/{room_name}.mp4"
    assert "roomName" in text or kind == "web"  # protojson's names, as the CLI's docs show


def test_it_names_the_cli_type_of_a_v1_request(admin):
    profile = make_profile(admin)
    given = {
        "api": "v1",
        "kind": "track_composite",
        "room_name": "town-hall",
        "track_composite": SOURCES["track_composite"],
        "outputs": {"file": {"filepath": "rec.mp4"}},
        "storage_profile_id": profile.pk,
    }
    command = lk_command(launched(given, profile=profile))
    assert command is not None
    assert command.command == "lk egress start --type track-composite request.json"


def test_it_puts_placeholders_for_stream_keys_keeping_each_scheme(admin):
    destination = make_destination(admin)
    given = {
        "api": "v1",
        "kind": "room_composite",
        "room_name": "town-hall",
        "room_composite": {"layout": "grid"},
        "outputs": {"stream": {"destination_ids": [destination.pk], "adhoc": [ADHOC]}},
    }
    job = launched(given, destinations=(destination,), adhoc=(ADHOC,))
    text, request = parsed(job)
    assert list(request.stream_outputs[0].urls) == [
        "rtmp://<STREAM_URL_1>",
        "rtmp://<STREAM_URL_2>",
    ]
    assert request.stream_outputs[0].protocol == egress.StreamProtocol.RTMP
    assert STREAM_KEY not in text
    command = lk_command(job)
    assert command is not None
    assert ("<STREAM_URL_1>", "the stream URL, key included, of destination YouTube") in (
        command.placeholders
    )


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_it_hides_a_track_egress_websocket_url(api):
    given = {
        "api": api,
        "kind": "track",
        "room_name": "town-hall",
        "track": {"track_id": "TR_audio", "websocket_url": WEBSOCKET, "track_kind": "audio"},
        "outputs": {},
    }
    text, request = parsed(launched(given))
    assert "<WEBSOCKET_URL>" in text
    if api == "v1":
        assert request.websocket_url == "<WEBSOCKET_URL>"
    else:
        assert list(request.outputs[0].stream.urls) == ["<WEBSOCKET_URL>"]


def test_it_has_no_command_for_a_job_started_elsewhere():
    job = EgressJob.objects.create(egress_id="EG_outside", kind="room_composite", external=True)
    assert lk_command(job) is None


def test_it_still_gives_placeholders_when_the_profile_cannot_be_read(admin):
    profile = make_profile(admin)
    StorageProfile.objects.filter(pk=profile.pk).update(encrypted_secrets="not-readable")
    profile.refresh_from_db()
    given = {
        "api": "v2",
        "kind": "room_composite",
        "room_name": "town-hall",
        "room_composite": {"layout": "grid"},
        "outputs": {"file": {"filepath": "rec.mp4"}},
        "storage_profile_id": profile.pk,
    }
    text, _ = parsed(launched(given, profile=profile))
    assert json.loads(text)["storage"]["s3"]["secret"] == "<S3_SECRET>"


def test_it_has_no_command_for_a_configuration_it_cannot_read():
    """A configuration an older release kept, missing parts: no command, and the page stands."""
    config = {"api": "v1", "kind": "room_composite", "outputs": {"stream": {}}}
    job = EgressJob.objects.create(egress_id="EG_old", kind="room_composite", config=config)
    assert lk_command(job) is None


def test_it_leaves_the_request_webhooks_out_of_the_command(admin, settings):
    """Whoever runs the command starts an egress of their own: it does not ask LiveKit to tell
    the dashboard (the project's webhooks or the reconciler still do)."""
    settings.LIVEKIT_REQUEST_WEBHOOKS = True
    given = {
        "api": "v2",
        "kind": "web",
        "web": SOURCES["web"],
        "outputs": {"file": {"filepath": "rec/show.mp4"}},
        "storage_profile_id": None,
    }
    text, request = parsed(launched(given))
    assert list(request.webhooks) == []
    assert "webhook" not in text
