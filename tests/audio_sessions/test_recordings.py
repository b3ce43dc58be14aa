"""Recording a session's mix (issue 14, section 4): the recorder sink fed real mixer ticks of the
sandbox's speech, closed, and its WAV uploaded through a storage profile to the emulators
(tests/emulators.py: moto's S3 server, Azurite, the GCS emulator, the OSS stand-in), read back
and parsed with the stdlib's `wave`. Failures end as a failed recording in plain words."""

from __future__ import annotations

import io
import tempfile
import wave
from collections.abc import Callable
from typing import Any

import pytest
from pytest_django.fixtures import Settings

from egress_app import actions
from egress_app.actions.recordings import RecordingSink, recording_sink
from egress_app.actions.session_sinks import sinks_for
from egress_app.models import (
    AudioRecording,
    AudioSession,
    AudioSessionState,
    RecordingState,
    StorageProfile,
)
from tests.audio.test_recorder import speech_ticks
from tests.emulators import BUCKET, Azurite, GCSEmulator, MotoS3, OSSStandin

pytestmark = pytest.mark.django_db

Reader = Callable[[str], bytes]


def make_profile(storage: dict[str, Any], path_template: str = "") -> StorageProfile:
    return actions.create_storage_profile(
        None,
        name=f"{storage['provider']} recordings",
        provider=storage["provider"],
        config=storage["config"],
        secrets=storage["secrets"],
        path_template=path_template,
    )


def recording_session(profile: StorageProfile, room: str = "podcast") -> AudioSession:
    return AudioSession.objects.create(room_name=room, record_to=profile)


def record(session: AudioSession, ticks: int, *, ended: bool = True) -> RecordingSink:
    """The session's recorder sink, as the processor drives it: `ticks` writes, then close."""
    sink = recording_sink(session)
    assert sink is not None
    for tick in speech_ticks(ticks):
        sink.write(tick)
    sink.close(ended=ended)
    assert not sink.recorder.path.exists()  # the temporary file never stays behind
    return sink


def parse(body: bytes) -> wave._wave_params:
    with wave.open(io.BytesIO(body), "rb") as wav:
        params = wav.getparams()
        assert len(wav.readframes(params.nframes)) == params.nframes * 2
        return params


@pytest.fixture
def s3_reader(moto_s3: MotoS3) -> Reader:
    return lambda key: moto_s3.client().get_object(Bucket=moto_s3.bucket, Key=key)["Body"].read()


@pytest.fixture
def azure_reader(azurite: Azurite) -> Reader:
    def read(key: str) -> bytes:
        blob = azurite.service().get_blob_client(azurite.container, key)
        assert blob.get_blob_properties().content_settings.content_type == "audio/wav"
        return bytes(blob.download_blob().readall())

    return read


@pytest.fixture
def gcs_reader(gcs_emulator: GCSEmulator) -> Reader:
    return lambda key: (
        gcs_emulator.client().bucket(gcs_emulator.bucket).blob(key).download_as_bytes()
    )


@pytest.fixture
def alioss_reader(oss_standin: OSSStandin) -> Reader:
    # Taken out as it is read: the OSS tests expect the stand-in's shared bucket empty.
    return lambda key: oss_standin.buckets[oss_standin.bucket].pop(key)


# --- uploads ------------------------------------------------------------------------------------
@pytest.mark.parametrize("provider", ["s3", "azure", "gcs", "alioss"])
def test_it_uploads_the_mix_as_a_wav_file(request, provider: str) -> None:
    storage = request.getfixturevalue(f"{provider}_storage")
    read = request.getfixturevalue(f"{provider}_reader")
    profile = make_profile(storage, path_template="shows/{room_name}/{time}")
    session = recording_session(profile)

    record(session, 30)

    recording = AudioRecording.objects.get()
    assert (recording.state, recording.error, recording.note) == (RecordingState.UPLOADED, "", "")
    assert recording.key.startswith(f"shows/audio-sessions/podcast/{session.pk}-")
    assert recording.key.endswith("Z.wav")
    assert (recording.profile, recording.profile_name) == (profile, profile.name)
    assert recording.location in (f"bucket {BUCKET}", f"container {BUCKET}")
    assert recording.seconds == 3.0
    body = read(recording.key)
    assert recording.bytes == len(body) == 44 + 30 * 1600 * 2
    params = parse(body)
    assert (params.framerate, params.nchannels, params.sampwidth) == (16_000, 1, 2)
    assert params.nframes / params.framerate == pytest.approx(30 * 0.1)


def test_it_streams_a_file_bigger_than_one_upload_part(s3_storage, s3_reader) -> None:
    # 8 MB is boto3's multipart threshold: 140 s of mix (about 9 MB) goes up in parts.
    session = recording_session(make_profile(s3_storage))

    record(session, 1400)

    recording = AudioRecording.objects.get()
    assert recording.state == RecordingState.UPLOADED, recording.error
    assert parse(s3_reader(recording.key)).nframes == 1400 * 1600


def test_it_uploads_with_the_profiles_metadata_and_tags(s3_storage, moto_s3: MotoS3) -> None:
    s3_storage["config"] |= {"metadata": {"show": "podcast"}, "tagging": "team=audio"}
    session = recording_session(make_profile(s3_storage))

    record(session, 2)

    key = AudioRecording.objects.get(state=RecordingState.UPLOADED).key
    s3 = moto_s3.client()
    head = s3.head_object(Bucket=moto_s3.bucket, Key=key)
    assert (head["ContentType"], head["Metadata"]) == ("audio/wav", {"show": "podcast"})
    tags = s3.get_object_tagging(Bucket=moto_s3.bucket, Key=key)["TagSet"]
    assert tags == [{"Key": "team", "Value": "audio"}]


def test_it_makes_the_room_safe_for_a_key(s3_storage) -> None:
    session = recording_session(make_profile(s3_storage), room="../Late show: ep 1/2")

    record(session, 1)

    key = AudioRecording.objects.get().key
    assert key.startswith(f"audio-sessions/Late_show_ep_1_2/{session.pk}-")


# --- what a recording says about itself ---------------------------------------------------------
def test_it_says_when_the_length_limit_cut_the_recording(
    s3_storage, s3_reader, settings: Settings
) -> None:
    settings.AUDIO_RECORDING_MAX_SECONDS = 1
    session = recording_session(make_profile(s3_storage))

    record(session, 25)

    recording = AudioRecording.objects.get()
    assert recording.state == RecordingState.UPLOADED
    assert recording.seconds == 1.0
    assert parse(s3_reader(recording.key)).nframes == 16_000
    assert recording.note.startswith("Stopped at the 1 s limit (AUDIO_RECORDING_MAX_SECONDS)")


def test_it_uploads_what_it_has_when_processing_stops_before_the_end(s3_storage) -> None:
    session = recording_session(make_profile(s3_storage))

    record(session, 5, ended=False)

    recording = AudioRecording.objects.get()
    assert recording.state == RecordingState.UPLOADED
    assert "processing stopped before the session ended" in recording.note


def test_it_records_nothing_when_nothing_was_mixed(s3_storage) -> None:
    session = recording_session(make_profile(s3_storage))

    record(session, 0)

    assert not AudioRecording.objects.exists()


# --- failures, in plain words and without secrets ---------------------------------------------
def test_it_records_an_unreachable_store_as_failed(s3_storage, closed_port_url: str) -> None:
    s3_storage["config"]["endpoint"] = closed_port_url
    session = recording_session(make_profile(s3_storage))

    record(session, 10)

    recording = AudioRecording.objects.get()
    assert recording.state == RecordingState.FAILED
    assert recording.error.startswith(
        f"Could not upload to bucket {s3_storage['config']['bucket']}: could not connect to "
        f"{closed_port_url}: the connection was refused"
    )
    assert (recording.bytes, recording.seconds) == (0, 1.0)
    assert_no_secrets(recording, s3_storage["secrets"])


def test_it_records_the_providers_words_without_the_secret(s3_storage) -> None:
    s3_storage["secrets"]["secret"] = "wrong-secret-wrong-secret-wrong-secret"
    session = recording_session(make_profile(s3_storage))

    record(session, 3)

    recording = AudioRecording.objects.get()
    assert recording.state == RecordingState.FAILED
    assert "the secret does not match the access key" in recording.error
    assert "(SignatureDoesNotMatch: " in recording.error
    assert_no_secrets(recording, s3_storage["secrets"])


def test_it_records_a_profile_deleted_before_the_upload(s3_storage) -> None:
    profile = make_profile(s3_storage)
    session = recording_session(profile)
    sink = recording_sink(session)
    assert sink is not None
    sink.write(speech_ticks(1)[0])
    AudioSession.objects.update(state=AudioSessionState.ENDED)  # the upload is yet to come
    actions.delete_storage_profile(None, profile)

    sink.close(ended=True)

    recording = AudioRecording.objects.get()
    assert (recording.state, recording.profile, recording.profile_name) == ("failed", None, "")
    assert recording.error == (
        "The storage profile chosen for this recording was deleted before the upload."
    )
    assert not sink.recorder.path.exists()


def test_it_keeps_a_profile_a_running_session_records_to(s3_storage) -> None:
    profile = make_profile(s3_storage)
    recording_session(profile, room="quiz")

    with pytest.raises(actions.InUseError) as refused:
        actions.delete_storage_profile(None, profile)

    assert str(refused.value) == (
        "The storage profile “s3 recordings” cannot be deleted while an audio session records "
        "to it (quiz): its recording is uploaded there when it ends. Stop the session first, "
        "then delete it."
    )
    assert StorageProfile.objects.filter(pk=profile.pk).exists()


def test_it_records_a_temporary_disk_it_cannot_write_to(s3_storage, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "gone"))  # as TMPDIR would
    session = recording_session(make_profile(s3_storage))

    assert sinks_for(session.pk) == []

    recording = AudioRecording.objects.get()
    assert (recording.state, recording.profile_name) == (RecordingState.FAILED, "s3 recordings")
    assert recording.error == (
        "Could not start the recording on this server's disk: No such file or directory."
    )


# --- the processor's view ----------------------------------------------------------------------
def test_it_gives_the_processor_a_recorder_only_when_asked(s3_storage) -> None:
    recorded = recording_session(make_profile(s3_storage))
    plain = AudioSession.objects.create(room_name="quiz")

    sinks = sinks_for(recorded.pk)

    assert [type(sink) for sink in sinks] == [RecordingSink]
    assert sinks_for(plain.pk) == []
    sinks[0].close(ended=True)  # nothing written: no file left, no recording
    assert not AudioRecording.objects.exists()


def assert_no_secrets(recording: AudioRecording, secrets: dict[str, str]) -> None:
    text = " ".join([recording.error, recording.location, recording.key, recording.note])
    for value in secrets.values():
        assert not value or value not in text
