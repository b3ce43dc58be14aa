from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from django.urls import reverse

from egress_app.launch.validation import validate_launch_config
from egress_app.management.commands.seed_demo import DEMO_JOBS, DEMO_STORAGE
from egress_app.models import EgressJob, EngineKind, EngineProfile, StorageProfile
from egress_app.roles import user_role

pytestmark = pytest.mark.django_db

LOGINS = {
    "producer": ("producer-demo-pass", "Producer"),
    "admin": ("admin-demo-pass", "Admin"),
    "support": ("support-demo-pass", "Support"),
}


def sign_in_request():
    # As the sign-in page calls it: django-axes counts sign-ins by the request's address.
    return RequestFactory().post("/login/")


@pytest.fixture
def development(settings):
    settings.DEBUG = True  # pytest-django turns DEBUG off; seed_demo wants a dev machine
    settings.ENVIRONMENT = "development"
    return settings


def test_it_creates_the_demo_users_with_their_roles(development, capsys):
    call_command("seed_demo")
    for username, (password, role) in LOGINS.items():
        user = authenticate(sign_in_request(), username=username, password=password)
        assert user is not None, username
        assert user_role(user) == role
    out = capsys.readouterr().out
    assert "/login/" in out
    assert "producer  producer-demo-pass  producers" in out


def test_it_makes_the_demo_admin_a_django_admin(development):
    call_command("seed_demo")
    admin = User.objects.get(username="admin")
    assert admin.is_staff
    assert admin.is_superuser
    assert not User.objects.get(username="producer").is_staff


def test_it_can_run_again_and_restores_the_demo_state(development):
    call_command("seed_demo")
    producer = User.objects.get(username="producer")
    producer.set_password("changed")
    producer.groups.clear()
    producer.save()
    call_command("seed_demo")
    assert User.objects.filter(username__in=LOGINS).count() == 3
    assert (
        authenticate(sign_in_request(), username="producer", password="producer-demo-pass")
        is not None
    )
    assert user_role(User.objects.get(username="producer")) == "Producer"


def test_it_refuses_to_run_in_production(settings):
    settings.ENVIRONMENT = "production"
    settings.DEBUG = False
    with pytest.raises(CommandError, match="only runs in development"):
        call_command("seed_demo")
    assert not User.objects.filter(username__in=LOGINS).exists()


def test_it_refuses_to_run_with_debug_off(settings):
    settings.ENVIRONMENT = "development"
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("seed_demo")


def test_it_adds_a_little_job_history_once(development):
    call_command("seed_demo")
    call_command("seed_demo")

    jobs = EgressJob.objects.order_by("started_at")
    assert [job.egress_id for job in jobs] == [demo.egress_id for demo in DEMO_JOBS]
    assert {job.started_by.username for job in jobs} == {"producer"}
    assert [job.cause for job in jobs] == ["", "start_signal", "room_connection"]
    assert all(job.can_retry for job in jobs)
    for job in jobs:
        assert validate_launch_config(job.config) == {}, job.egress_id


def test_it_gives_each_demo_job_the_webhooks_its_page_tells_of(development, client):
    call_command("seed_demo")
    call_command("seed_demo")

    client.force_login(User.objects.get(username="producer"))
    for job in EgressJob.objects.all():
        events = list(job.ledger.order_by("received_at").values_list("event", "reason"))
        assert events == [("egress_started", ""), ("egress_ended", job.error or job.details)]
        html = client.get(reverse("dashboard-job-detail", args=[job.pk])).content.decode()
        assert "Nothing heard from LiveKit" not in html
        assert "egress_ended" in html


def test_it_makes_the_built_in_engine_the_default_once(development):
    call_command("seed_demo")
    call_command("seed_demo")

    profile = EngineProfile.objects.get()
    assert profile.kind == EngineKind.BUILTIN
    assert profile.is_default


def test_it_points_the_default_storage_profile_at_the_demo_s3(development):
    development.DEMO_S3_PORT = 7999
    call_command("seed_demo")
    profile = StorageProfile.objects.get(name=DEMO_STORAGE)
    assert profile.is_default
    assert profile.provider == "s3"
    assert profile.config["endpoint"] == "http://127.0.0.1:7999"
    assert profile.config["bucket"] == "demo-recordings"
    assert profile.config["force_path_style"] is True
    upload = profile.storage_config().s3
    assert (upload.access_key, upload.endpoint) == ("DEMOACCESSKEY0000001", "http://127.0.0.1:7999")


def test_it_follows_the_demo_s3_port_and_keeps_the_default_as_chosen(development):
    call_command("seed_demo")
    StorageProfile.objects.filter(name=DEMO_STORAGE).update(is_default=False)
    development.DEMO_S3_PORT = 7998
    call_command("seed_demo")
    profile = StorageProfile.objects.get(name=DEMO_STORAGE)
    assert profile.config["endpoint"] == "http://127.0.0.1:7998"
    assert not profile.is_default
    assert StorageProfile.objects.filter(name=DEMO_STORAGE).count() == 1


def test_it_makes_no_demo_storage_for_a_real_livekit(development):
    """A real LiveKit's egress could not reach this machine's local S3."""
    development.LIVEKIT_URL = "wss://example.livekit.cloud"
    call_command("seed_demo")
    assert not StorageProfile.objects.filter(name=DEMO_STORAGE).exists()
