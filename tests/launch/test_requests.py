"""Launch configurations built into LiveKit requests and started for real against the sandbox:
every kind with every output the form offers, in both APIs; what LiveKit echoes back says what
the configuration said, and never a secret of the profile or a stream key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from google.protobuf import json_format
from google.protobuf.message import Message
from livekit.protocol import egress, models

from egress_app import actions
from egress_app.launch.requests import StartCall, build_start_call, stream_urls
from egress_app.livekit import get_livekit_client
from egress_app.livekit.redact import redact_stream_url
from egress_app.models import StorageProfile, StreamDestination
from egress_app.sandbox.testing import RunningSandbox

pytestmark = pytest.mark.django_db

S3_SECRETS = {
    "access_key": "SECRET-launch-accesskey-XYZ123",
    "secret": "SECRET-launch-secret-XYZ123-abcdef",
    "session_token": "SECRET-launch-session-XYZ123",
}
STREAM_KEY = "SECRET-launch-rtmp-key-XYZ123"
ADHOC = "rtmps://live.example.com:443/app/SECRET-adhoc-key-XYZ123"
WEBSOCKET = "wss://ingest.example.com/audio?token=SECRET-ws-token-XYZ123"
SECRETS = [*S3_SECRETS.values(), STREAM_KEY, "SECRET-adhoc-key-XYZ123"]
TEMPLATE = "rec/{room_name}-{time}"
V1_REQUESTS = {
    "room_composite": "room_composite",
    "web": "web",
    "participant": "participant",
    "track_composite": "track_composite",
    "track": "track",
}


@dataclass(frozen=True)
class Setup:
    profile: StorageProfile
    destination: StreamDestination
    sandbox: RunningSandbox


@pytest.fixture
def setup(admin: User, sandbox: RunningSandbox) -> Setup:
    profile = actions.create_storage_profile(
        admin,
        name="Recordings",
        provider="s3",
        config={"bucket": "launch-recordings", "region": "eu-west-1"},
        secrets=S3_SECRETS,
        path_template=TEMPLATE,
    )
    destination = actions.create_stream_destination(
        admin, name="YouTube", server_url="rtmp://a.rtmp.youtube.com/live2", stream_key=STREAM_KEY
    )
    return Setup(profile, destination, sandbox)


def source(kind: str, sandbox: RunningSandbox) -> dict[str, Any]:
    """What to record, in the demo fixture's rooms."""
    if kind == "room_composite":
        return {"room_name": "town-hall", "room_composite": {"layout": "speaker"}}
    if kind == "web":
        return {"web": {"url": "https://example.com/show", "await_start_signal": True}}
    if kind == "participant":
        return {"room_name": "town-hall", "participant": {"identity": "alice"}}
    if kind == "track_composite":
        audio = sandbox.control.track_sid("town-hall", "bob", "microphone")
        video = sandbox.control.track_sid("town-hall", "bob", "camera")
        section = {"audio_track_id": audio, "video_track_id": video}
        return {"room_name": "town-hall", "track_composite": section}
    track = sandbox.control.track_sid("podcast", "guest", "microphone")
    return {"room_name": "podcast", "track": {"track_id": track, "track_kind": "audio"}}


OUTPUTS: dict[str, tuple[dict[str, Any], bool]] = {
    # name: (outputs, with the ad-hoc URL)
    "file": ({"file": {"file_type": "MP4"}}, False),
    "stream-destination": ({"stream": {"destination_ids": "DESTINATION"}}, False),
    "stream-adhoc": ({"stream": {"adhoc": [redact_stream_url(ADHOC)]}}, True),
    "segments": (
        {"segments": {"filename_prefix": "hls/{room_name}", "segment_duration": 6}},
        False,
    ),
    "images": ({"images": {"capture_interval": 5, "width": 640, "height": 360}}, False),
    "everything": (
        {
            "file": {"filepath": "rec/all.mp4"},
            "stream": {"destination_ids": "DESTINATION", "adhoc": [redact_stream_url(ADHOC)]},
            "segments": {"playlist_name": "hls/all", "live_playlist_name": "hls/live"},
            "images": {"filename_prefix": "img/{room_name}"},
        },
        True,
    ),
}


def configure(
    setup: Setup, kind: str, api: str, outputs: dict[str, Any], *, adhoc: bool
) -> tuple[dict[str, Any], list[str]]:
    config: dict[str, Any] = {"api": api, "kind": kind, **source(kind, setup.sandbox)}
    config["outputs"] = {name: dict(output) for name, output in outputs.items()}
    stream = config["outputs"].get("stream")
    if stream is not None and stream.get("destination_ids") == "DESTINATION":
        stream["destination_ids"] = [setup.destination.pk]
    config["storage_profile_id"] = setup.profile.pk
    return config, [ADHOC] if adhoc else []


def build(setup: Setup, config: dict[str, Any], adhoc_urls: list[str]) -> StartCall:
    stream = config["outputs"].get("stream") or {}
    chosen = [setup.destination] if stream.get("destination_ids") else []
    return build_start_call(
        config, profile=setup.profile, destinations=chosen, adhoc_urls=adhoc_urls
    )


def start(call: StartCall) -> egress.EgressInfo:
    return async_to_sync(get_livekit_client().start)(call.rpc, call.request)


def echoed(info: egress.EgressInfo) -> Message:
    field = info.WhichOneof("request")
    assert field is not None
    return getattr(info, field)


def assert_no_secret(info: egress.EgressInfo) -> None:
    text = json_format.MessageToJson(info)
    assert [secret for secret in SECRETS if secret in text] == []


# --- every kind with every output, both APIs ----------------------------------------------------
COMBINATIONS = [
    (kind, name)
    for kind in ("room_composite", "web", "participant", "track_composite")
    for name in OUTPUTS
]


@pytest.mark.parametrize("api", ["v1", "v2"])
@pytest.mark.parametrize(("kind", "output"), COMBINATIONS)
def test_it_starts_every_kind_with_every_output(
    setup: Setup, kind: str, output: str, api: str
) -> None:
    outputs, adhoc = OUTPUTS[output]
    config, adhoc_urls = configure(setup, kind, api, outputs, adhoc=adhoc)

    call = build(setup, config, adhoc_urls)
    info = start(call)

    assert info.egress_id.startswith("EG_")
    assert info.status == egress.EgressStatus.EGRESS_STARTING
    setup.sandbox.control.wait_for_status(info.egress_id, "ACTIVE")
    assert info.WhichOneof("request") == ("egress" if api == "v2" else V1_REQUESTS[kind])
    assert_source(config, echoed(info))
    if api == "v1":
        assert_v1_outputs(config, echoed(info))
    else:
        assert_v2_outputs(config, echoed(info))
    assert_no_secret(info)


def assert_source(config: dict[str, Any], request: Any) -> None:
    kind = config["kind"]
    section = config[kind]
    if kind != "web":
        assert request.room_name == config["room_name"]
    if isinstance(request, egress.StartEgressRequest):
        assert_v2_source(kind, section, request)
    elif kind == "room_composite":
        assert request.layout == section["layout"]
    elif kind == "web":
        assert (request.url, request.await_start_signal) == (section["url"], True)
    elif kind == "participant":
        assert request.identity == section["identity"]
    elif kind == "track_composite":
        assert request.audio_track_id == section["audio_track_id"]
        assert request.video_track_id == section["video_track_id"]


def assert_v2_source(
    kind: str, section: dict[str, Any], request: egress.StartEgressRequest
) -> None:
    if kind == "room_composite":
        assert request.template.layout == section["layout"]
    elif kind == "web":
        assert (request.web.url, request.web.await_start_signal) == (section["url"], True)
        assert request.room_name == ""
    elif kind == "participant":
        assert request.media.participant_video.identity == section["identity"]
        assert request.media.audio.routes[0].participant_identity == section["identity"]
    elif kind == "track_composite":
        assert request.media.video_track_id == section["video_track_id"]
        assert request.media.audio.routes[0].track_id == section["audio_track_id"]


def assert_redacted_s3(upload: egress.S3Upload) -> None:
    assert upload.bucket == "launch-recordings"
    assert (upload.access_key, upload.secret) == ("{access_key}", "{secret}")
    assert upload.session_token == "{session_token}"


def expected_urls(config: dict[str, Any]) -> list[str]:
    stream = config["outputs"]["stream"]
    urls = ["rtmp://a.rtmp.youtube.com/live2/{SEC...123}"] if stream.get("destination_ids") else []
    return urls + list(stream.get("adhoc", []))


def assert_v1_outputs(config: dict[str, Any], request: Any) -> None:
    outputs = config["outputs"]
    if "file" in outputs:
        file = request.file_outputs[0]
        assert file.filepath == (outputs["file"].get("filepath") or TEMPLATE)
        assert_redacted_s3(file.s3)
    if "stream" in outputs:
        assert list(request.stream_outputs[0].urls) == expected_urls(config)
        assert request.stream_outputs[0].protocol == egress.StreamProtocol.RTMP
    if "segments" in outputs:
        segments = request.segment_outputs[0]
        assert segments.playlist_name == outputs["segments"].get("playlist_name", "")
        assert segments.segment_duration == outputs["segments"].get("segment_duration", 4)
        assert_redacted_s3(segments.s3)
    if "images" in outputs:
        images = request.image_outputs[0]
        assert images.capture_interval == outputs["images"].get("capture_interval", 10)
        assert_redacted_s3(images.s3)
    assert len(request.file_outputs) == ("file" in outputs)
    assert len(request.image_outputs) == ("images" in outputs)


def assert_v2_outputs(config: dict[str, Any], request: egress.StartEgressRequest) -> None:
    outputs = config["outputs"]
    sent = {output.WhichOneof("config"): output for output in request.outputs}
    assert set(sent) == set(outputs)
    if "file" in outputs:
        assert sent["file"].file.filepath == (outputs["file"].get("filepath") or TEMPLATE)
    if "stream" in outputs:
        assert list(sent["stream"].stream.urls) == expected_urls(config)
    if "segments" in outputs:
        assert sent["segments"].segments.playlist_name == outputs["segments"].get(
            "playlist_name", ""
        )
    if "images" in outputs:
        assert sent["images"].images.capture_interval == outputs["images"].get(
            "capture_interval", 10
        )
    uploads = {"file", "segments", "images"} & set(outputs)
    assert request.HasField("storage") == bool(uploads)
    if uploads:
        assert_redacted_s3(request.storage.s3)


# --- track egress ---------------------------------------------------------------------------------
@pytest.mark.parametrize("api", ["v1", "v2"])
def test_it_starts_a_track_to_a_file(setup: Setup, api: str) -> None:
    config, _ = configure(setup, "track", api, {"file": {"disable_manifest": True}}, adhoc=False)

    call = build(setup, config, [])
    info = start(call)
    setup.sandbox.control.wait_for_status(info.egress_id, "ACTIVE")

    track_id = config["track"]["track_id"]
    request = echoed(info)
    if api == "v1":
        assert call.rpc == "StartTrackEgress"
        assert request.track_id == track_id
        assert request.file.filepath == TEMPLATE
        assert request.file.disable_manifest is True
        assert_redacted_s3(request.file.s3)
    else:
        assert call.rpc == "StartEgress"
        assert request.media.audio.routes[0].track_id == track_id
        assert request.preset == egress.EncodingOptionsPreset.PASSTHROUGH
        assert [o.WhichOneof("config") for o in request.outputs] == ["file"]
        assert request.outputs[0].file.file_type == egress.EncodedFileType.DEFAULT_FILETYPE
        assert_redacted_s3(request.storage.s3)
    assert info.file_results[0].filename.startswith("rec/podcast-")
    assert_no_secret(info)


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_it_starts_a_track_to_a_websocket(setup: Setup, api: str) -> None:
    setup.sandbox.control.set_pacing(starting=5)  # the test has no websocket server to dial
    config, _ = configure(setup, "track", api, {}, adhoc=False)
    config["track"]["websocket_url"] = WEBSOCKET

    info = start(build(setup, config, []))

    assert info.status == egress.EgressStatus.EGRESS_STARTING
    assert "SECRET-ws-token-XYZ123" not in str(echoed(info))
    request = echoed(info)
    shown = "wss://ingest.example.com/audio?token={...}"
    if api == "v1":
        assert request.websocket_url == shown
    else:
        stream = request.outputs[0].stream
        assert stream.protocol == egress.StreamProtocol.WEBSOCKET
        assert list(stream.urls) == [shown]
        assert not request.HasField("preset")
        assert not request.HasField("storage")
    assert_no_secret(info)


# --- details of the requests ----------------------------------------------------------------------
def test_it_sends_the_advanced_encoding_and_the_audio_mixing(setup: Setup) -> None:
    config, _ = configure(setup, "room_composite", "v1", {"file": {}}, adhoc=False)
    config["room_composite"] = {"audio_only": True, "audio_mixing": "DUAL_CHANNEL_AGENT"}
    config["encoding"] = {"advanced": {"audio_codec": "OPUS", "audio_bitrate": 96}}

    request = echoed(start(build(setup, config, [])))

    assert request.audio_only is True
    assert request.audio_mixing == egress.AudioMixing.DUAL_CHANNEL_AGENT
    assert request.advanced.audio_codec == models.AudioCodec.OPUS
    assert request.advanced.audio_bitrate == 96


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_it_sends_the_preset(setup: Setup, api: str) -> None:
    config, _ = configure(setup, "web", api, {"file": {}}, adhoc=False)
    config["encoding"] = {"preset": "PORTRAIT_H264_1080P_60"}

    request = echoed(start(build(setup, config, [])))

    assert request.preset == egress.EncodingOptionsPreset.PORTRAIT_H264_1080P_60


def test_it_sends_an_srt_url_as_an_srt_stream(setup: Setup) -> None:
    url = "srt://ingest.example.com:9000?streamid=cam1"
    config, _ = configure(
        setup, "room_composite", "v1", {"stream": {"adhoc": ["srt"]}}, adhoc=False
    )

    call = build(setup, config, [url])

    assert call.request.stream_outputs[0].protocol == egress.StreamProtocol.SRT
    assert list(call.request.stream_outputs[0].urls) == [url]
    info = start(call)
    assert info.stream_results[0].url == url  # egress reports an SRT URL as given
    # ...but LiveKit echoes the request with its query values hidden (livekit/protocol #1714)
    assert list(info.room_composite.stream_outputs[0].urls) == [
        "srt://ingest.example.com:9000?streamid={...}"
    ]


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_it_leaves_the_upload_to_livekit_with_server_storage(setup: Setup, api: str) -> None:
    config, _ = configure(setup, "room_composite", api, {"file": {}}, adhoc=False)
    config |= {"storage_profile_id": None, "server_storage": True}

    call = build_start_call(config, profile=None, destinations=[], adhoc_urls=[])
    info = start(call)

    request = echoed(info)
    if api == "v1":
        assert request.file_outputs[0].WhichOneof("output") is None
        assert request.file_outputs[0].filepath == ""
    else:
        assert not request.HasField("storage")


@pytest.mark.parametrize(
    ("fixture", "field", "redacted"),
    [
        ("s3_storage", "s3", ("access_key", "{access_key}")),
        ("gcs_storage", "gcp", ("credentials", "{credentials}")),
        ("azure_storage", "azure", ("account_key", "{account_key}")),
        ("alioss_storage", "aliOSS", ("secret", "{secret}")),
    ],
)
@pytest.mark.parametrize("api", ["v1", "v2"])
def test_it_puts_each_provider_in_its_upload_slot(
    request: pytest.FixtureRequest,
    admin: User,
    sandbox: RunningSandbox,
    fixture: str,
    field: str,
    redacted: tuple[str, str],
    api: str,
) -> None:
    storage = request.getfixturevalue(fixture)
    profile = actions.create_storage_profile(admin, name=fixture, **storage)
    config = {
        "api": api,
        "kind": "room_composite",
        "room_name": "town-hall",
        "outputs": {"file": {"filepath": "rec/x.mp4"}, "segments": {}},
        "storage_profile_id": profile.pk,
    }

    info = start(build_start_call(config, profile=profile, destinations=[], adhoc_urls=[]))

    sent = echoed(info)
    holders = [sent.storage] if api == "v2" else [sent.file_outputs[0], sent.segment_outputs[0]]
    name, placeholder = redacted
    for holder in holders:
        assert getattr(getattr(holder, field), name) == placeholder
    text = json_format.MessageToJson(info)
    assert [v for v in storage["secrets"].values() if v and v in text] == []


# --- refusals -------------------------------------------------------------------------------------
def test_it_refuses_a_configuration_validation_refuses(setup: Setup) -> None:
    config, _ = configure(setup, "room_composite", "v1", {}, adhoc=False)

    with pytest.raises(ValueError, match=r"^outputs: Choose at least one output\.$"):
        build(setup, config, [])


def test_it_refuses_another_profile_than_the_configured_one(setup: Setup, admin: User) -> None:
    config, _ = configure(setup, "room_composite", "v1", {"file": {}}, adhoc=False)

    with pytest.raises(ValueError, match="storage_profile_id"):
        build_start_call(config, profile=None, destinations=[], adhoc_urls=[])


def test_it_refuses_destinations_the_configuration_does_not_name(setup: Setup) -> None:
    config, _ = configure(setup, "room_composite", "v1", {"file": {}}, adhoc=False)

    with pytest.raises(ValueError, match="destination_ids"):
        build_start_call(
            config, profile=setup.profile, destinations=[setup.destination], adhoc_urls=[]
        )


def test_it_builds_the_real_stream_urls_now(setup: Setup) -> None:
    urls = stream_urls([setup.destination], [f" {ADHOC} ", ""])

    assert urls == [f"rtmp://a.rtmp.youtube.com/live2/{STREAM_KEY}", ADHOC]


def test_it_builds_a_stream_only_call_without_a_profile(setup: Setup) -> None:
    config, urls = configure(setup, "room_composite", "v2", OUTPUTS["stream-adhoc"][0], adhoc=True)
    config["storage_profile_id"] = None

    call = build_start_call(config, profile=None, destinations=[], adhoc_urls=urls)

    assert not call.request.HasField("storage")
    assert start(call).egress_id.startswith("EG_")


# --- request webhooks (LIVEKIT_REQUEST_WEBHOOKS) ------------------------------------------------
KINDS = ["room_composite", "web", "participant", "track_composite", "track"]


@pytest.mark.parametrize("api", ["v1", "v2"])
@pytest.mark.parametrize("kind", KINDS)
def test_it_asks_for_the_dashboards_webhook_on_every_start_when_on(
    setup: Setup, settings: Any, kind: str, api: str
) -> None:
    settings.LIVEKIT_REQUEST_WEBHOOKS = True
    settings.SITE_ROOT = "http://127.0.0.1:9"  # nothing listens: LiveKit's sends fail, unseen
    config, _ = configure(setup, kind, api, {"file": {}}, adhoc=False)

    info = start(build(setup, config, []))

    hooks = [(hook.url, hook.signing_key) for hook in echoed(info).webhooks]  # type: ignore[attr-defined]
    assert hooks == [("http://127.0.0.1:9/livekit/webhook", setup.sandbox.api_key)]


@pytest.mark.parametrize("api", ["v1", "v2"])
@pytest.mark.parametrize("kind", KINDS)
def test_it_asks_for_no_webhook_when_off(setup: Setup, settings: Any, kind: str, api: str) -> None:
    settings.LIVEKIT_REQUEST_WEBHOOKS = False
    config, _ = configure(setup, kind, api, {"file": {}}, adhoc=False)

    info = start(build(setup, config, []))

    assert list(echoed(info).webhooks) == []  # type: ignore[attr-defined]
