from __future__ import annotations

import pytest
from django.db import IntegrityError, connection
from livekit.protocol import egress

from egress_app.crypto import encrypt_json
from egress_app.models import (
    AuditAction,
    AuditEntry,
    EgressJob,
    EgressStatus,
    StorageProfile,
    StorageProvider,
    StreamDestination,
    StreamProtocol,
)
from egress_app.storage.providers import PROVIDERS

pytestmark = pytest.mark.django_db

KEYS = {"access_key": "AKIAIOSFODNN7EXAMPLE", "secret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCY"}


def s3_profile(name: str = "Archive", **fields) -> StorageProfile:
    profile = StorageProfile(
        name=name, provider=StorageProvider.S3, config={"bucket": "recordings"}, **fields
    )
    profile.set_secrets(KEYS)
    profile.save()
    return profile


def raw_column(model, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT encrypted_secrets FROM {model._meta.db_table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_it_lists_the_providers_the_code_knows():
    assert set(StorageProvider.values) == set(PROVIDERS)


def test_it_stores_profile_secrets_encrypted():
    profile = s3_profile()
    stored = raw_column(StorageProfile, profile.pk)
    assert stored.startswith("gAAAA")
    assert KEYS["secret"] not in stored
    assert KEYS["access_key"] not in stored
    assert StorageProfile.objects.get().secrets() == KEYS


def test_it_hints_at_set_secrets_only():
    assert s3_profile().secret_hints() == {"access_key": "••••MPLE", "secret": "••••fiCY"}


def test_it_stores_no_token_without_secrets():
    profile = StorageProfile(name="p", provider="s3")
    profile.set_secrets({"secret": ""})
    assert profile.encrypted_secrets == ""
    assert profile.secrets() == {}


def test_it_builds_the_upload_from_decrypted_secrets():
    profile = s3_profile()
    assert profile.upload() == egress.S3Upload(bucket="recordings", **KEYS)
    assert profile.storage_config() == egress.StorageConfig(
        s3=egress.S3Upload(bucket="recordings", **KEYS)
    )
    assert profile.provider_spec is PROVIDERS["s3"]
    assert profile.target == "recordings"


def test_it_allows_only_one_default_profile():
    s3_profile("A", is_default=True)
    s3_profile("B")
    with pytest.raises(IntegrityError):
        s3_profile("C", is_default=True)


def test_it_records_a_connection_test_on_the_profile():
    profile = s3_profile()
    profile.record_test(ok=False, message="Access denied")
    assert (profile.last_test_ok, profile.last_test_message) == (False, "Access denied")
    assert profile.last_tested_at is not None


def test_it_keeps_the_stream_key_encrypted_and_builds_the_url_on_demand():
    destination = StreamDestination(name="YouTube main", protocol=StreamProtocol.RTMP)
    destination.set_secrets(
        {"server_url": "rtmp://a.rtmp.youtube.com/live2", "stream_key": "abcd-efgh-ijkl"}
    )
    destination.save()
    assert "abcd-efgh-ijkl" not in raw_column(StreamDestination, destination.pk)
    assert destination.output_url() == "rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl"
    assert destination.secret_hints()["stream_key"] == "••••ijkl"


@pytest.mark.parametrize(
    ("status", "active"),
    [
        (EgressStatus.STARTING, True),
        (EgressStatus.ACTIVE, True),
        (EgressStatus.ENDING, True),
        (EgressStatus.COMPLETE, False),
        (EgressStatus.FAILED, False),
        (EgressStatus.ABORTED, False),
        (EgressStatus.LIMIT_REACHED, False),
    ],
)
def test_it_knows_which_jobs_are_running(status, active):
    assert EgressJob(egress_id="EG_1", kind="room_composite", status=status).is_active is active


def test_it_mirrors_livekit_status_names():
    assert set(EgressStatus.values) == set(egress.EgressStatus.keys())


def test_it_protects_a_profile_used_by_a_job():
    profile = s3_profile()
    EgressJob.objects.create(egress_id="EG_1", kind="room_composite", storage_profile=profile)
    assert profile.jobs.count() == 1
    with pytest.raises(IntegrityError):
        profile.delete()


def test_it_lists_audit_entries_newest_first():
    first = AuditEntry.objects.create(action=AuditAction.CREATED, target_type="storage_profile")
    second = AuditEntry.objects.create(action=AuditAction.DELETED, target_type="storage_profile")
    assert list(AuditEntry.objects.all()) == [second, first]


def test_it_reads_secrets_encrypted_elsewhere():
    profile = StorageProfile.objects.create(
        name="p", provider="gcp", encrypted_secrets=encrypt_json({"credentials": "{}"})
    )
    assert profile.secrets() == {"credentials": "{}"}


def test_it_counts_all_and_running_jobs_per_profile_and_destination():
    used, unused = s3_profile("Used"), s3_profile("Unused")
    destination = StreamDestination.objects.create(name="YouTube", protocol="rtmp")
    for egress_id, status in [("EG_a", EgressStatus.ACTIVE), ("EG_b", EgressStatus.COMPLETE)]:
        job = EgressJob.objects.create(
            egress_id=egress_id, kind="room_composite", status=status, storage_profile=used
        )
        job.destinations.add(destination)
    counts = {
        p.name: (p.job_count, p.running_job_count) for p in StorageProfile.objects.with_job_counts()
    }
    assert counts == {"Used": (2, 1), "Unused": (0, 0)}
    annotated = StreamDestination.objects.with_job_counts().get()
    assert (annotated.job_count, annotated.running_job_count) == (2, 1)
    assert unused.jobs.count() == 0
