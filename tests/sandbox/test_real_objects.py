"""Egress that end with an upload to a reachable store leave real, playable objects there.

Driven through LiveKit's SDK against the storage emulators (moto's S3 server with IAM auth on,
Azurite, the GCS emulator with its token stand-in, the OSS stand-in that checks OSS's V1
signature): each object exists, has the size the egress reports, and PyAV decodes it with the
codecs egress writes; a refusing store fails the egress with the provider's own words.
"""

from __future__ import annotations

import io
import json
import time
from typing import Any

import av
import pytest
from livekit import api

from egress_app.sandbox.testing import RunningSandbox
from tests.emulators import Azurite, GCSEmulator, MotoS3, OSSStandin

STOP_TIMEOUT = 20.0  # the first clip of a kind is encoded on the spot


def decoded(data: bytes) -> tuple[list[str], float]:
    """The codecs of `data`'s streams and its duration in seconds, after decoding every frame."""
    with av.open(io.BytesIO(data)) as container:
        codecs = sorted(stream.codec_context.name for stream in container.streams)
        frames = sum(1 for _ in container.decode(*container.streams))
        assert frames > 0
        return codecs, (container.duration or 0) / 1_000_000


def s3_upload(moto: MotoS3, **fields: Any) -> api.S3Upload:
    fields = {
        "access_key": moto.access_key,
        "secret": moto.secret,
        "region": moto.region,
        "endpoint": moto.endpoint,
        "bucket": moto.bucket,
        "force_path_style": True,
    } | fields
    return api.S3Upload(**fields)


def s3_object(moto: MotoS3, key: str) -> bytes:
    return bytes(moto.client().get_object(Bucket=moto.bucket, Key=key)["Body"].read())


async def record(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox, ending: str = "COMPLETE", **request: Any
) -> api.EgressInfo:
    """Start a room composite of town-hall, let it run, stop it and wait for `ending`."""
    request.setdefault("room_name", "town-hall")
    started = await lkapi.egress.start_room_composite_egress(
        api.RoomCompositeEgressRequest(**request)
    )
    sandbox.control.wait_for_status(started.egress_id, "ACTIVE")
    await lkapi.egress.stop_egress(api.StopEgressRequest(egress_id=started.egress_id))
    return sandbox.control.wait_for_status(started.egress_id, ending, timeout=STOP_TIMEOUT)


# --- S3 (moto) -----------------------------------------------------------------------------------
async def test_it_uploads_a_playable_mp4_to_s3(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox, moto_s3: MotoS3
) -> None:
    output = api.EncodedFileOutput(filepath="rec/{room_name}-{time}.mp4", s3=s3_upload(moto_s3))

    ended = await record(lkapi, sandbox, file_outputs=[output])

    result = ended.file_results[0]
    data = s3_object(moto_s3, result.filename)
    assert result.filename.startswith("rec/town-hall-")
    assert result.location == f"{moto_s3.endpoint}/{moto_s3.bucket}/{result.filename}"
    assert result.size == len(data) > 0
    codecs, seconds = decoded(data)
    assert codecs == ["aac", "h264"]
    assert seconds > 0
    assert data.index(b"moov") < data.index(b"mdat")  # faststart: a <video> plays at once
    head = moto_s3.client().head_object(Bucket=moto_s3.bucket, Key=result.filename)
    assert (head["ContentType"], head["ContentDisposition"]) == ("video/mp4", "inline")
    assert ended.file == result
    manifest = json.loads(s3_object(moto_s3, result.filename.removesuffix(".mp4") + ".json"))
    assert manifest["files"] == [{"filename": result.filename, "location": result.location}]
    assert ended.manifest_location.endswith(result.filename.removesuffix(".mp4") + ".json")


@pytest.mark.parametrize(
    ("room", "ending"), [("limit-room", "LIMIT_REACHED"), ("fail-room", "FAILED")]
)
async def test_it_uploads_what_was_recorded_when_the_egress_ends_on_its_own(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox, moto_s3: MotoS3, room: str, ending: str
) -> None:
    """A session limit, or a lost room connection: egress still uploads what it recorded."""
    sandbox.control.add_room(room)
    output = api.EncodedFileOutput(filepath=f"{room}/take.mp4", s3=s3_upload(moto_s3))
    started = await lkapi.egress.start_room_composite_egress(
        api.RoomCompositeEgressRequest(room_name=room, file_outputs=[output])
    )

    ended = sandbox.control.wait_for_status(started.egress_id, ending, timeout=STOP_TIMEOUT)

    result = ended.file_results[0]
    assert result.size == len(s3_object(moto_s3, f"{room}/take.mp4"))


async def test_it_uploads_with_an_assumed_role(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox, moto_s3: MotoS3
) -> None:
    upload = s3_upload(
        moto_s3,
        access_key=moto_s3.denied_access_key,
        secret=moto_s3.denied_secret,
        assume_role_arn=moto_s3.role_arn,
        assume_role_external_id=moto_s3.role_external_id,
    )

    ended = await record(
        lkapi, sandbox, audio_only=True, file_outputs=[api.EncodedFileOutput(s3=upload)]
    )

    result = ended.file_results[0]
    assert result.filename.endswith(".ogg")
    assert decoded(s3_object(moto_s3, result.filename))[0] == ["opus"]


async def test_it_fails_the_egress_with_s3s_words_for_a_wrong_secret(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox, moto_s3: MotoS3
) -> None:
    wrong = "wrong-secret-wrong-secret-wrong-secret"
    output = api.EncodedFileOutput(filepath="rec/refused.mp4", s3=s3_upload(moto_s3, secret=wrong))

    failed = await record(lkapi, sandbox, "FAILED", file_outputs=[output])

    assert failed.error.startswith(
        "S3 upload failed: operation error S3: PutObject, https response error StatusCode: 403, "
    )
    assert "api error SignatureDoesNotMatch: " in failed.error
    assert wrong not in failed.error
    assert failed.error_code == 400
    assert failed.details == "End reason: StopEgress API"
    assert failed.file_results[0].size == 0
    assert "rec/refused.mp4" not in moto_s3.object_keys()


async def test_it_fails_the_egress_when_the_store_is_unreachable(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox, moto_s3: MotoS3, closed_port_url: str
) -> None:
    closed = closed_port_url
    output = api.EncodedFileOutput(s3=s3_upload(moto_s3, endpoint=closed))
    began = time.monotonic()

    failed = await record(lkapi, sandbox, "FAILED", file_outputs=[output])

    assert failed.error.startswith("S3 upload failed: operation error S3: PutObject, ")
    assert "request send failed" in failed.error
    assert closed in failed.error
    assert time.monotonic() - began < 10


async def test_it_keeps_public_cloud_outputs_simulated(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox
) -> None:
    """No endpoint: AWS itself, which cannot be reached here; nothing is tried, sizes estimated."""
    upload = api.S3Upload(access_key="AKIAFAKE", secret="fake", region="eu-west-3", bucket="rec")

    ended = await record(lkapi, sandbox, file_outputs=[api.EncodedFileOutput(s3=upload)])

    assert ended.file_results[0].size > 0
    assert ended.file_results[0].location.startswith("https://rec.s3.eu-west-3.amazonaws.com/")


async def test_it_uploads_jpeg_images(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox, moto_s3: MotoS3
) -> None:
    images = api.ImageOutput(
        capture_interval=1, filename_prefix="thumbs/{room_name}", s3=s3_upload(moto_s3)
    )

    ended = await record(lkapi, sandbox, image_outputs=[images])

    result = ended.image_results[0]
    assert result.filename_prefix == "thumbs/town-hall"
    assert result.image_count >= 1
    for index in range(result.image_count):
        data = s3_object(moto_s3, f"thumbs/town-hall_{index:05d}.jpeg")
        assert data.startswith(b"\xff\xd8\xff")
        assert decoded(data)[0] == ["mjpeg"]


async def test_it_uploads_a_vp8_track_as_webm(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox, moto_s3: MotoS3
) -> None:
    camera = sandbox.control.track_sid("town-hall", "alice", "camera")
    started = await lkapi.egress.start_track_egress(
        api.TrackEgressRequest(
            room_name="town-hall",
            track_id=camera,
            file=api.DirectFileOutput(filepath="tracks/{track_id}", s3=s3_upload(moto_s3)),
        )
    )
    sandbox.control.wait_for_status(started.egress_id, "ACTIVE")
    await lkapi.egress.stop_egress(api.StopEgressRequest(egress_id=started.egress_id))
    ended = sandbox.control.wait_for_status(started.egress_id, "COMPLETE", timeout=STOP_TIMEOUT)

    result = ended.file_results[0]
    assert result.filename == f"tracks/{camera}.webm"
    data = s3_object(moto_s3, result.filename)
    assert result.size == len(data)
    assert decoded(data)[0] == ["vp8"]


# --- Azure (Azurite): HLS ------------------------------------------------------------------------
def blob(azurite: Azurite, name: str) -> bytes:
    client = azurite.service().get_blob_client(azurite.container, name)
    return bytes(client.download_blob().readall())


async def test_it_uploads_an_hls_playlist_and_its_segments_to_azure(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox, azurite: Azurite
) -> None:
    sandbox.control.set_storage_endpoints(azure_blob=azurite.endpoint_template)
    upload = api.AzureBlobUpload(
        account_name=azurite.account_name,
        account_key=azurite.account_key,
        container_name=azurite.container,
    )
    segments = api.SegmentedFileOutput(
        filename_prefix="hls/{room_name}",
        playlist_name="hls/{room_name}.m3u8",
        live_playlist_name="hls/{room_name}-live.m3u8",
        segment_duration=2,
        azure=upload,
    )

    ended = await record(lkapi, sandbox, segment_outputs=[segments])

    result = ended.segment_results[0]
    assert result.playlist_location == f"https://{azurite.account_name}.blob.core.windows.net/" + (
        f"{azurite.container}/hls/town-hall.m3u8"
    )
    playlist = blob(azurite, result.playlist_name).decode()
    named = [line for line in playlist.splitlines() if line and not line.startswith("#")]
    assert playlist.startswith("#EXTM3U\n#EXT-X-VERSION:4\n#EXT-X-PLAYLIST-TYPE:EVENT\n")
    assert playlist.endswith("#EXT-X-ENDLIST\n")
    assert named == ["town-hall_00000.ts", "town-hall_00001.ts"]
    sizes = 0
    for name in named:
        data = blob(azurite, f"hls/{name}")
        codecs, seconds = decoded(data)
        assert (codecs, seconds > 0) == (["aac", "h264"], True)
        sizes += len(data)
    assert (result.segment_count, result.size) == (2, sizes)
    live = blob(azurite, result.live_playlist_name).decode()
    assert "#EXT-X-PLAYLIST-TYPE" not in live
    assert [line for line in live.splitlines() if line.endswith(".ts")] == named


async def test_it_fails_the_egress_with_azures_words_for_a_wrong_key(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox, azurite: Azurite
) -> None:
    sandbox.control.set_storage_endpoints(azure_blob=azurite.endpoint_template)
    wrong_key = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ=="
    upload = api.AzureBlobUpload(
        account_name=azurite.account_name, account_key=wrong_key, container_name=azurite.container
    )

    failed = await record(
        lkapi, sandbox, "FAILED", file_outputs=[api.EncodedFileOutput(azure=upload)]
    )

    assert failed.error.startswith("Azure upload failed: RESPONSE 403: 403 ")
    assert "ERROR CODE: AuthorizationFailure" in failed.error
    assert wrong_key not in failed.error


# --- GCS (emulator) and OSS (stand-in) -----------------------------------------------------------
async def test_it_uploads_an_ogg_to_gcs(
    lkapi: api.LiveKitAPI,
    sandbox: RunningSandbox,
    gcs_emulator: GCSEmulator,
    gcs_credentials: str,
) -> None:
    sandbox.control.set_storage_endpoints(gcs=gcs_emulator.endpoint)
    upload = api.GCPUpload(credentials=gcs_credentials, bucket=gcs_emulator.bucket)
    output = api.EncodedFileOutput(file_type=api.OGG, filepath="audio/{room_name}", gcp=upload)

    ended = await record(lkapi, sandbox, audio_only=True, file_outputs=[output])

    result = ended.file_results[0]
    stored = gcs_emulator.client().bucket(gcs_emulator.bucket).get_blob(result.filename)
    data = stored.download_as_bytes()
    assert result.size == stored.size == len(data)
    codecs, seconds = decoded(data)
    assert (codecs, seconds > 0) == (["opus"], True)


async def test_it_fails_the_egress_with_googles_words_for_a_revoked_key(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox, gcs_emulator: GCSEmulator
) -> None:
    sandbox.control.set_storage_endpoints(gcs=gcs_emulator.endpoint)
    revoked = gcs_emulator.service_account_json(known=False)
    upload = api.GCPUpload(credentials=revoked, bucket=gcs_emulator.bucket)

    failed = await record(
        lkapi, sandbox, "FAILED", file_outputs=[api.EncodedFileOutput(gcp=upload)]
    )

    assert failed.error == ('GCP upload failed: oauth2: "invalid_grant" "Invalid JWT Signature."')


def oss_upload(oss: OSSStandin, **fields: Any) -> api.AliOSSUpload:
    fields = {
        "access_key": oss.access_key,
        "secret": oss.secret,
        "region": oss.region,
        "endpoint": oss.endpoint,
        "bucket": oss.bucket,
    } | fields
    return api.AliOSSUpload(**fields)


async def test_it_uploads_an_mp3_to_oss(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox, oss_standin: OSSStandin
) -> None:
    output = api.EncodedFileOutput(
        file_type=api.MP3, filepath="mp3/{room_name}", aliOSS=oss_upload(oss_standin)
    )

    ended = await record(lkapi, sandbox, audio_only=True, file_outputs=[output])

    result = ended.file_results[0]
    data = oss_standin.buckets[oss_standin.bucket][result.filename]
    assert result.size == len(data)
    codecs, seconds = decoded(data)
    assert codecs[0].startswith("mp3")
    assert seconds > 0


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"secret": "wrong-secret"}, "SignatureDoesNotMatch"),
        ({"bucket": "locked-bucket"}, "AccessDenied"),
    ],
)
async def test_it_fails_the_egress_with_osss_words(
    lkapi: api.LiveKitAPI,
    sandbox: RunningSandbox,
    oss_standin: OSSStandin,
    fields: dict[str, str],
    code: str,
) -> None:
    upload = oss_upload(oss_standin, **fields)

    failed = await record(
        lkapi, sandbox, "FAILED", file_outputs=[api.EncodedFileOutput(aliOSS=upload)]
    )

    assert failed.error.startswith(
        f"AliOSS upload failed: oss: service returned error: StatusCode=403, ErrorCode={code}, "
    )
    assert "wrong-secret" not in failed.error


async def test_it_fails_the_egress_when_oss_does_not_answer(
    lkapi: api.LiveKitAPI, sandbox: RunningSandbox, oss_standin: OSSStandin, closed_port_url: str
) -> None:
    upload = oss_upload(oss_standin, endpoint=closed_port_url)

    failed = await record(
        lkapi, sandbox, "FAILED", file_outputs=[api.EncodedFileOutput(aliOSS=upload)]
    )

    assert failed.error.startswith("AliOSS upload failed: HTTPConnectionPool(host='127.0.0.1'")
    assert "Connection refused" in failed.error
