"""What a job's link does to its storage profile and destinations, and to the key check."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from egress_app import actions
from egress_app.checks import verify_secret_keys
from egress_app.crypto import SecretKeyError, encrypt_json
from egress_app.models import EgressJob, LaunchState, StreamDestination

pytestmark = pytest.mark.django_db


@pytest.fixture
def destination(admin):
    return actions.create_stream_destination(
        admin, name="YouTube", server_url="rtmp://a.rtmp.youtube.com/live2", stream_key="k-123"
    )


def test_it_keeps_a_destination_while_its_start_call_waits_for_livekit(admin, destination):
    job = EgressJob.objects.create(
        kind="room_composite", status="", launch_state=LaunchState.LAUNCHING
    )
    job.destinations.add(destination)
    with pytest.raises(actions.InUseError, match="cannot be deleted"):
        actions.delete_stream_destination(admin, destination)


def test_it_lets_a_destination_go_after_a_refused_start(admin, destination):
    job = EgressJob.objects.create(
        kind="room_composite", status="", launch_state=LaunchState.REFUSED
    )
    job.destinations.add(destination)
    actions.delete_stream_destination(admin, destination)
    assert not StreamDestination.objects.filter(pk=destination.pk).exists()


def test_it_checks_the_key_against_the_urls_jobs_keep(settings):
    EgressJob.objects.create(
        kind="track", egress_id="EG_x", encrypted_secrets=encrypt_json({"ws": "wss://a/?t=1"})
    )
    settings.SECRETS_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(SecretKeyError):
        verify_secret_keys()
