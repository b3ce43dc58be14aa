from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from egress_app import actions
from egress_app.models import (
    AuditAction,
    AuditEntry,
    EngineProfile,
    StorageProfile,
    StreamDestination,
)

pytestmark = pytest.mark.django_db

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
ENGINE_KEY = "gladia-rotation-test-key-0042"


def rotate() -> str:
    out = StringIO()
    call_command("rotate_secrets", stdout=out)
    return out.getvalue()


@pytest.fixture
def stored(settings, admin):
    settings.SECRETS_ENCRYPTION_KEYS = [OLD]
    actions.create_storage_profile(
        admin,
        name="Archive",
        provider="s3",
        config={"bucket": "recordings"},
        secrets={"access_key": "AKIAIOSFODNN7EXAMPLE", "secret": SECRET},
    )
    actions.create_stream_destination(
        admin, name="YouTube", server_url="rtmp://a.rtmp.youtube.com/live2", stream_key="k-12345"
    )
    actions.create_engine_profile(
        admin, name="Gladia", kind="gladia", config={}, secrets={"api_key": ENGINE_KEY}
    )
    return settings


def test_it_reencrypts_every_secret_so_the_old_key_can_go(stored):
    stored.SECRETS_ENCRYPTION_KEYS = [NEW, OLD]
    assert rotate() == "Re-encrypted 3 stored secrets with the newest key.\n"
    stored.SECRETS_ENCRYPTION_KEYS = [NEW]
    assert StorageProfile.objects.get().secrets()["secret"] == SECRET
    assert EngineProfile.objects.get().secrets() == {"api_key": ENGINE_KEY}
    assert StreamDestination.objects.get().output_url().endswith("/live2/k-12345")


def test_it_audits_the_rotation(stored):
    stored.SECRETS_ENCRYPTION_KEYS = [NEW, OLD]
    rotate()
    entry = AuditEntry.objects.first()
    assert (entry.action, entry.actor_name, entry.target_type) == (
        AuditAction.ROTATED,
        "system",
        "secrets",
    )


def test_it_fails_clearly_when_a_secret_cannot_be_decrypted(stored):
    tokens = list(StorageProfile.objects.values_list("encrypted_secrets", flat=True))
    stored.SECRETS_ENCRYPTION_KEYS = [NEW]
    with pytest.raises(CommandError, match="cannot be decrypted with any key") as error:
        rotate()
    assert "Nothing was re-encrypted." in str(error.value)
    assert list(StorageProfile.objects.values_list("encrypted_secrets", flat=True)) == tokens
    assert not AuditEntry.objects.filter(action=AuditAction.ROTATED).exists()


def test_it_refuses_to_rotate_when_an_engine_key_cannot_be_decrypted(stored):
    engine = EngineProfile.objects.get()
    stored.SECRETS_ENCRYPTION_KEYS = [NEW]
    engine.set_secrets({"api_key": ENGINE_KEY})  # readable with NEW only
    engine.save()
    tokens = list(StorageProfile.objects.values_list("encrypted_secrets", flat=True))
    stored.SECRETS_ENCRYPTION_KEYS = [OLD]
    with pytest.raises(CommandError, match="cannot be decrypted with any key"):
        rotate()
    assert list(StorageProfile.objects.values_list("encrypted_secrets", flat=True)) == tokens


def test_it_fails_clearly_on_a_malformed_key(stored):
    stored.SECRETS_ENCRYPTION_KEYS = ["nope"]
    with pytest.raises(CommandError, match="entry 1 of 1 is not a valid Fernet key"):
        rotate()


def test_it_rotates_nothing_without_secrets():
    assert rotate() == "Re-encrypted 0 stored secrets with the newest key.\n"
