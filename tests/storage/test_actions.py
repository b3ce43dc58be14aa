from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from django.core.exceptions import ValidationError

from egress_app import actions
from egress_app.actions import InUseError
from egress_app.models import (
    AuditAction,
    AuditEntry,
    EgressJob,
    EgressStatus,
    StorageProfile,
    StreamDestination,
)

pytestmark = pytest.mark.django_db

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
NEW_SECRET = "NEW-secret-value-9f8e7d6c5b4a"
STREAM_KEY = "abcd-efgh-ijkl-mnop"
YOUTUBE = "rtmp://a.rtmp.youtube.com/live2"
SECRET_STRINGS = (ACCESS_KEY, SECRET, NEW_SECRET, STREAM_KEY, "a.rtmp.youtube.com/live2")


@dataclass
class Outcome:
    ok: bool
    message: str


def create_profile(actor, name: str = "Archive", **overrides) -> StorageProfile:
    fields = {
        "name": name,
        "provider": "s3",
        "config": {"bucket": "recordings", "region": "eu-west-1"},
        "secrets": {"access_key": ACCESS_KEY, "secret": SECRET},
        **overrides,
    }
    return actions.create_storage_profile(actor, **fields)


def update_profile(actor, profile, **overrides) -> StorageProfile:
    fields = {
        "name": profile.name,
        "config": dict(profile.config),
        "secrets": {},
        "path_template": profile.path_template,
        "is_default": profile.is_default,
        **overrides,
    }
    return actions.update_storage_profile(actor, profile, **fields)


def create_destination(actor, name: str = "YouTube main", **overrides) -> StreamDestination:
    fields = {"name": name, "server_url": YOUTUBE, "stream_key": STREAM_KEY, **overrides}
    return actions.create_stream_destination(actor, **fields)


def job(status: str = EgressStatus.ACTIVE, egress_id: str = "EG_running1", **fields) -> EgressJob:
    return EgressJob.objects.create(
        egress_id=egress_id, kind="room_composite", status=status, **fields
    )


def audit_text() -> str:
    return json.dumps(list(AuditEntry.objects.values()), default=str)


def last_entry() -> AuditEntry:
    return AuditEntry.objects.first()


# --- storage profiles -------------------------------------------------------------------------
def test_it_creates_a_profile_with_encrypted_secrets_and_an_audit_entry(admin):
    profile = create_profile(admin, path_template="{room_name}/{time}")
    assert profile.secrets() == {"access_key": ACCESS_KEY, "secret": SECRET}
    assert profile.config["bucket"] == "recordings"
    entry = last_entry()
    assert (entry.action, entry.actor, entry.actor_name) == (
        AuditAction.CREATED,
        admin,
        "ada-admin",
    )
    assert (entry.target_type, entry.target_id, entry.target_name) == (
        "storage_profile",
        profile.pk,
        "Archive",
    )
    assert entry.changed_fields == [
        "name",
        "provider",
        "bucket",
        "region",
        "access_key (set)",
        "secret (set)",
        "path_template",
        "is_default",
    ]


def test_it_makes_the_first_profile_the_default(admin):
    first = create_profile(admin, "First")
    second = create_profile(admin, "Second")
    assert first.is_default
    assert not second.is_default


def test_it_keeps_exactly_one_default(admin):
    create_profile(admin, "First")
    second = create_profile(admin, "Second", is_default=True)
    assert list(StorageProfile.objects.filter(is_default=True)) == [second]
    third = create_profile(admin, "Third")
    actions.make_default_storage_profile(admin, third)
    assert list(StorageProfile.objects.filter(is_default=True)) == [third]
    entry = last_entry()
    assert (entry.action, entry.outcome) == (AuditAction.MADE_DEFAULT, "instead of Second")


def test_it_writes_nothing_when_validation_fails(admin):
    with pytest.raises(ValidationError) as error:
        create_profile(admin, "", config={"bucket": "Bad_Bucket"}, secrets={"secret": SECRET})
    assert set(error.value.message_dict) == {"name", "bucket", "access_key"}
    assert not StorageProfile.objects.exists()
    assert not AuditEntry.objects.exists()


def test_it_refuses_an_unknown_provider(admin):
    with pytest.raises(ValidationError) as error:
        create_profile(admin, provider="dropbox")
    assert error.value.message_dict == {"provider": ["Choose a storage provider."]}


def test_it_refuses_a_duplicate_name_whatever_its_case(admin):
    create_profile(admin, "Archive")
    with pytest.raises(ValidationError) as error:
        create_profile(admin, "archive")
    assert error.value.message_dict == {
        "name": ["There is already a storage profile called archive."]
    }


def test_it_checks_the_path_template(admin):
    with pytest.raises(ValidationError) as error:
        create_profile(admin, path_template="{nope}/x")
    assert list(error.value.message_dict) == ["path_template"]


def test_it_keeps_stored_secrets_left_empty_on_update(admin):
    profile = create_profile(admin)
    token = profile.encrypted_secrets
    profile = update_profile(
        admin, profile, config={**profile.config, "bucket": "other-bucket"}, secrets={"secret": ""}
    )
    assert profile.secrets() == {"access_key": ACCESS_KEY, "secret": SECRET}
    assert profile.encrypted_secrets == token
    assert last_entry().changed_fields == ["bucket"]


def test_it_replaces_a_secret_given_anew(admin):
    profile = create_profile(admin)
    profile = update_profile(admin, profile, secrets={"secret": NEW_SECRET})
    assert profile.secrets()["secret"] == NEW_SECRET
    assert last_entry().changed_fields == ["secret (replaced)"]


def test_it_clears_a_secret_named_for_replacement(admin):
    profile = create_profile(
        admin, secrets={"access_key": ACCESS_KEY, "secret": SECRET, "session_token": "tok-123456"}
    )
    profile = update_profile(admin, profile, clear=["session_token"])
    assert "session_token" not in profile.secrets()
    assert last_entry().changed_fields == ["session_token (removed)"]


def test_it_requires_a_new_value_for_a_cleared_required_secret(admin):
    profile = create_profile(admin)
    with pytest.raises(ValidationError) as error:
        update_profile(admin, profile, clear=["secret"])
    assert error.value.message_dict == {"secret": ["Secret access key is required."]}
    assert StorageProfile.objects.get().secrets()["secret"] == SECRET
    assert AuditEntry.objects.count() == 1


def test_it_records_nothing_for_an_unchanged_profile(admin):
    profile = create_profile(admin)
    update_profile(admin, profile, secrets={"secret": SECRET})
    assert AuditEntry.objects.count() == 1


def test_it_keeps_the_default_when_an_edit_unticks_it(admin):
    profile = create_profile(admin)
    profile = update_profile(admin, profile, is_default=False, name="Renamed")
    assert profile.is_default


def test_it_makes_a_profile_default_through_an_edit(admin):
    create_profile(admin, "First")
    second = update_profile(admin, create_profile(admin, "Second"), is_default=True)
    assert list(StorageProfile.objects.filter(is_default=True)) == [second]
    assert last_entry().changed_fields == ["is_default"]


def test_it_duplicates_a_profile_without_the_default_flag(admin):
    profile = create_profile(admin, path_template="rec/{room_name}")
    copy = actions.duplicate_storage_profile(admin, profile, name="Archive copy")
    assert (copy.provider, copy.config, copy.path_template) == (
        profile.provider,
        profile.config,
        profile.path_template,
    )
    assert copy.secrets() == profile.secrets()
    assert not copy.is_default
    entry = last_entry()
    assert (entry.action, entry.target_id, entry.outcome) == (
        AuditAction.DUPLICATED,
        copy.pk,
        "copy of Archive",
    )


def test_it_refuses_to_duplicate_onto_a_taken_name(admin):
    profile = create_profile(admin)
    with pytest.raises(ValidationError):
        actions.duplicate_storage_profile(admin, profile, name="Archive")
    assert StorageProfile.objects.count() == 1


def test_it_refuses_to_delete_a_profile_a_running_job_uses(admin):
    profile = create_profile(admin)
    job(storage_profile=profile)
    with pytest.raises(InUseError) as error:
        actions.delete_storage_profile(admin, profile)
    assert str(error.value) == (
        "The storage profile “Archive” cannot be deleted while a running job uses it "
        "(EG_running1). Stop those jobs or wait until they end, then delete it."
    )
    assert StorageProfile.objects.exists()
    assert last_entry().action == AuditAction.CREATED


def test_it_deletes_a_profile_only_finished_jobs_used(admin):
    profile = create_profile(admin)
    finished = job(EgressStatus.COMPLETE, storage_profile=profile)
    actions.delete_storage_profile(admin, profile)
    assert not StorageProfile.objects.exists()
    finished.refresh_from_db()
    assert finished.storage_profile is None
    entry = last_entry()
    assert (entry.action, entry.target_id, entry.target_name) == (
        AuditAction.DELETED,
        profile.pk,
        "Archive",
    )


def test_it_hands_the_default_on_when_the_default_is_deleted(admin):
    first = create_profile(admin, "First")
    second = create_profile(admin, "Second")
    actions.delete_storage_profile(admin, first)
    second.refresh_from_db()
    assert second.is_default
    assert last_entry().action == AuditAction.MADE_DEFAULT


def test_it_names_every_running_job_in_the_refusal(admin):
    profile = create_profile(admin)
    for number in range(7):
        job(egress_id=f"EG_{number}", storage_profile=profile)
    with pytest.raises(InUseError) as error:
        actions.delete_storage_profile(admin, profile)
    assert "while 7 running jobs use it (EG_0, EG_1, EG_2, EG_3, EG_4 and 2 more)" in str(
        error.value
    )


def test_it_counts_the_jobs_using_a_profile(admin):
    profile = create_profile(admin)
    job(storage_profile=profile)
    job(EgressStatus.COMPLETE, egress_id="EG_done", storage_profile=profile)
    assert profile.jobs.count() == 2


def test_it_records_a_connection_test(admin):
    profile = create_profile(admin)
    actions.record_storage_test(admin, profile, Outcome(ok=False, message="Access denied"))
    profile.refresh_from_db()
    assert (profile.last_test_ok, profile.last_test_message) == (False, "Access denied")
    assert profile.last_tested_at is not None
    entry = last_entry()
    assert (entry.action, entry.outcome) == (AuditAction.TESTED, "failed: Access denied")
    actions.record_storage_test(admin, profile, Outcome(ok=True, message="Wrote and deleted"))
    assert last_entry().outcome == "ok"


# --- stream destinations ------------------------------------------------------------------------
def test_it_creates_a_destination_with_its_url_and_key_encrypted(admin):
    destination = create_destination(admin)
    assert (destination.protocol, destination.host) == ("rtmp", "a.rtmp.youtube.com")
    assert destination.output_url() == f"{YOUTUBE}/{STREAM_KEY}"
    assert STREAM_KEY not in destination.encrypted_secrets
    entry = last_entry()
    assert (entry.action, entry.target_type) == (AuditAction.CREATED, "stream_destination")
    assert entry.changed_fields == ["name", "protocol", "server_url (set)", "stream_key (set)"]


def test_it_stores_a_shorthand_key_as_the_stream_key(admin):
    destination = create_destination(admin, "Mux", server_url="mux://mux-key-1", stream_key="")
    assert (destination.protocol, destination.host) == ("mux", "global-live.mux.com")
    assert destination.secrets() == {"server_url": "mux://", "stream_key": "mux-key-1"}
    assert destination.output_url() == "mux://mux-key-1"


def test_it_refuses_a_destination_livekit_would_refuse(admin):
    with pytest.raises(ValidationError) as error:
        create_destination(admin, server_url="rtmp://a.rtmp.youtube.com")
    assert list(error.value.message_dict) == ["server_url"]
    assert not StreamDestination.objects.exists()
    assert not AuditEntry.objects.exists()


def test_it_keeps_the_stream_key_when_only_the_server_changes(admin):
    destination = create_destination(admin)
    destination = actions.update_stream_destination(
        admin,
        destination,
        name="YouTube main",
        server_url="rtmps://b.rtmps.youtube.com/live2",
        stream_key="",
    )
    assert destination.output_url() == f"rtmps://b.rtmps.youtube.com/live2/{STREAM_KEY}"
    assert last_entry().changed_fields == ["server_url (replaced)", "protocol", "host"]


def test_it_replaces_and_clears_destination_secrets(admin):
    destination = create_destination(
        admin, "SRT", server_url="srt://srt.example.com:9000", stream_key="s1"
    )
    destination = actions.update_stream_destination(
        admin, destination, name="SRT", server_url="", stream_key="", clear=["stream_key"]
    )
    assert destination.secrets() == {"server_url": "srt://srt.example.com:9000"}
    assert destination.output_url() == "srt://srt.example.com:9000"
    assert last_entry().changed_fields == ["stream_key (removed)"]


def test_it_requires_a_key_again_when_an_rtmp_key_is_cleared(admin):
    destination = create_destination(admin)
    with pytest.raises(ValidationError) as error:
        actions.update_stream_destination(
            admin,
            destination,
            name="YouTube main",
            server_url="",
            stream_key="",
            clear=["stream_key"],
        )
    assert error.value.message_dict == {"stream_key": ["Stream key is required."]}


def test_it_duplicates_a_destination(admin):
    destination = create_destination(admin)
    copy = actions.duplicate_stream_destination(admin, destination, name="YouTube backup")
    assert copy.output_url() == destination.output_url()
    assert (copy.protocol, copy.host) == (destination.protocol, destination.host)


def test_it_refuses_to_delete_a_destination_a_running_job_streams_to(admin):
    destination = create_destination(admin)
    job(status=EgressStatus.STARTING).destinations.add(destination)
    with pytest.raises(InUseError, match="EG_running1"):
        actions.delete_stream_destination(admin, destination)
    assert StreamDestination.objects.exists()


def test_it_deletes_a_destination_once_its_jobs_ended(admin):
    destination = create_destination(admin)
    job(status=EgressStatus.FAILED).destinations.add(destination)
    actions.delete_stream_destination(admin, destination)
    assert not StreamDestination.objects.exists()
    assert last_entry().action == AuditAction.DELETED


# --- the audit log never holds secrets ---------------------------------------------------------
def test_it_never_writes_secret_values_to_the_audit_log(admin):
    profile = create_profile(admin)
    update_profile(admin, profile, secrets={"secret": NEW_SECRET})
    actions.duplicate_storage_profile(admin, profile, name="Copy")
    destination = create_destination(admin)
    actions.update_stream_destination(
        admin, destination, name="Renamed", server_url=YOUTUBE, stream_key=STREAM_KEY + "x"
    )
    actions.rotate_all_secrets(admin)
    actions.delete_stream_destination(admin, destination)
    text = audit_text()
    assert AuditEntry.objects.count() == 7
    assert not [value for value in SECRET_STRINGS if value in text]


def test_it_names_system_as_the_actor_without_a_user(admin):
    create_profile(admin)
    assert actions.rotate_all_secrets() == 1
    entry = last_entry()
    assert (entry.actor, entry.actor_name, entry.target_type) == (None, "system", "secrets")
    assert entry.outcome == "1 re-encrypted with the newest key"


def test_it_keeps_the_actors_name_after_the_user_is_deleted(admin):
    create_profile(admin)
    admin.delete()
    entry = last_entry()
    assert (entry.actor, entry.actor_name) == (None, "ada-admin")
