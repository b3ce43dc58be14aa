"""Upgrading an existing database: every migration runs with the system checks it triggers."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from egress_app.checks import verify_secret_keys
from egress_app.crypto import encrypt_json
from egress_app.models import EgressJob

# pytest-django turns DEBUG off, where the development key would fail check E003.
TEST_SECRET_KEY = "a-long-random-secret-key-for-this-test-only-0123456789"


# Serialized rollback restores the roles (a data migration) that earlier transactional tests
# flushed.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_migrates_a_database_holding_secrets_from_before_the_job_secrets(settings):
    settings.SECRET_KEY = TEST_SECRET_KEY
    # 0003 is the schema before jobs kept encrypted URLs; the key check runs during `migrate`
    # and must not read a column that the next migration has yet to add.
    call_command("migrate", "egress_app", "0003", verbosity=0)
    # Written as that schema holds it (today's action would also write today's audit columns).
    state = MigrationExecutor(connection).loader.project_state(
        ("egress_app", "0003_storage_destinations_jobs_audit")
    )
    destinations = state.apps.get_model("egress_app", "StreamDestination")
    secrets = {"server_url": "rtmp://a.rtmp.youtube.com/live2", "stream_key": "k-123"}
    destinations.objects.create(
        name="YouTube",
        protocol="rtmp",
        host="a.rtmp.youtube.com",
        encrypted_secrets=encrypt_json(secrets),
    )
    call_command("migrate", verbosity=0, skip_checks=False)  # as `manage.py migrate` does
    call_command("check", "--database", "default")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_checks_the_keys_of_a_database_not_yet_migrated(settings):
    settings.SECRET_KEY = TEST_SECRET_KEY
    call_command("migrate", "egress_app", "zero", verbosity=0)
    verify_secret_keys()  # no tables yet: nothing to decrypt, nothing to fail on
    call_command("migrate", verbosity=0, skip_checks=False)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_gives_jobs_recorded_before_the_catalogue_their_cause():
    executor = MigrationExecutor(connection)
    before = [("egress_app", "0006_live_status_ledger")]
    executor.migrate(before)
    jobs = executor.loader.project_state(before).apps.get_model("egress_app", "EgressJob")
    failed = jobs.objects.create(
        kind="room_composite", status="EGRESS_ABORTED", error="Start signal not received"
    )
    odd = jobs.objects.create(kind="web", status="EGRESS_FAILED", error="gst: EG_x1 broke 3 times")
    fine = jobs.objects.create(kind="web", status="EGRESS_ACTIVE")

    call_command("migrate", verbosity=0)

    causes = dict(EgressJob.objects.values_list("pk", "cause"))
    assert causes == {
        failed.pk: "start_signal",
        odd.pk: "unknown:gst: … broke … times",
        fine.pk: "",
    }
