from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from egress_app.checks import check_secret_keys, check_stored_secrets, verify_secret_keys
from egress_app.crypto import SecretKeyError, decrypt_json, encrypt_json, hint, reencrypt
from egress_app.models import StorageProfile, StreamDestination

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
VALUES = {"secret": "wJalrXUtnFEMI/K7MDENG", "access_key": "AKIAIOSFODNN7EXAMPLE"}


@pytest.fixture
def production(settings):
    settings.ENVIRONMENT = "production"
    settings.DEBUG = False
    settings.SECRETS_ENCRYPTION_KEYS = []
    return settings


def check_ids(databases: list[str] | None = None) -> set[str]:
    messages = check_secret_keys() + check_stored_secrets(databases=databases)
    return {message.id for message in messages if message.id}


def test_it_round_trips_values_with_the_development_key(settings):
    settings.SECRETS_ENCRYPTION_KEYS = []
    token = encrypt_json(VALUES)
    assert VALUES["secret"] not in token
    assert decrypt_json(token) == VALUES


def test_it_reads_an_empty_token_as_no_secrets():
    assert decrypt_json("") == {}


def test_it_derives_the_development_key_from_secret_key(settings):
    settings.SECRETS_ENCRYPTION_KEYS = []
    token = encrypt_json(VALUES)
    settings.SECRET_KEY = "another-development-secret-key"
    with pytest.raises(SecretKeyError, match="SECRET_KEY"):
        decrypt_json(token)


def test_it_encrypts_with_the_newest_key_and_decrypts_with_any(settings):
    settings.SECRETS_ENCRYPTION_KEYS = [OLD]
    old_token = encrypt_json(VALUES)
    settings.SECRETS_ENCRYPTION_KEYS = [NEW, OLD]
    new_token = encrypt_json(VALUES)
    assert decrypt_json(old_token) == VALUES
    assert Fernet(NEW).decrypt(new_token.encode())
    settings.SECRETS_ENCRYPTION_KEYS = [NEW]
    assert decrypt_json(new_token) == VALUES


def test_it_reencrypts_so_the_old_key_can_be_dropped(settings):
    settings.SECRETS_ENCRYPTION_KEYS = [OLD]
    token = encrypt_json(VALUES)
    settings.SECRETS_ENCRYPTION_KEYS = [NEW, OLD]
    rotated = reencrypt(token)
    settings.SECRETS_ENCRYPTION_KEYS = [NEW]
    assert decrypt_json(rotated) == VALUES
    with pytest.raises(SecretKeyError):
        decrypt_json(token)


def test_it_refuses_to_run_without_keys_in_production(production):
    with pytest.raises(SecretKeyError, match="SECRETS_ENCRYPTION_KEYS is not set"):
        encrypt_json(VALUES)


def test_it_uses_configured_keys_in_production(production):
    production.SECRETS_ENCRYPTION_KEYS = [NEW]
    assert decrypt_json(encrypt_json(VALUES)) == VALUES


def test_it_explains_a_malformed_key_without_quoting_it(settings):
    settings.SECRETS_ENCRYPTION_KEYS = [NEW, "not-a-fernet-key-at-all"]
    with pytest.raises(SecretKeyError) as error:
        encrypt_json(VALUES)
    assert "SECRETS_ENCRYPTION_KEYS entry 2 of 2 is not a valid Fernet key" in str(error.value)
    assert "not-a-fernet-key" not in str(error.value)


def test_it_explains_a_wrong_key_clearly(settings):
    settings.SECRETS_ENCRYPTION_KEYS = [OLD]
    token = encrypt_json(VALUES)
    settings.SECRETS_ENCRYPTION_KEYS = [NEW]
    with pytest.raises(SecretKeyError) as error:
        decrypt_json(token)
    message = str(error.value)
    assert "cannot be decrypted with any key in SECRETS_ENCRYPTION_KEYS" in message
    assert "rotate_secrets" in message
    assert not any(value in message for value in VALUES.values())


def test_it_never_returns_empty_secrets_for_an_unreadable_token(settings):
    settings.SECRETS_ENCRYPTION_KEYS = [NEW]
    with pytest.raises(SecretKeyError):
        decrypt_json("gAAAAABgarbage")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", "••••"),
        ("short", "••••"),
        ("1234567", "••••"),
        ("12345678", "••••5678"),
        ("AKIAIOSFODNN7EXAMPLE", "••••MPLE"),
    ],
)
def test_it_hints_at_the_last_four_characters_of_long_values(value, expected):
    assert hint(value) == expected


@pytest.mark.django_db
def test_it_verifies_stored_secrets_against_the_keys(settings):
    settings.SECRETS_ENCRYPTION_KEYS = [OLD]
    StreamDestination.objects.create(
        name="YouTube", protocol="rtmp", encrypted_secrets=encrypt_json({"stream_key": "k" * 10})
    )
    settings.SECRETS_ENCRYPTION_KEYS = [NEW, OLD]
    verify_secret_keys()
    settings.SECRETS_ENCRYPTION_KEYS = [NEW]
    with pytest.raises(SecretKeyError, match="cannot be decrypted"):
        verify_secret_keys()


def test_it_reports_missing_production_keys_as_a_startup_error(production):
    assert "egress_app.E006" in check_ids()


def test_it_reports_a_malformed_key_as_a_startup_error(settings):
    settings.SECRETS_ENCRYPTION_KEYS = ["short"]
    assert "egress_app.E006" in check_ids()


def test_it_accepts_the_development_key_outside_production(settings):
    settings.SECRETS_ENCRYPTION_KEYS = []
    assert "egress_app.E006" not in check_ids()


@pytest.mark.django_db
def test_it_reports_undecryptable_stored_secrets_when_checking_the_database(settings):
    settings.SECRETS_ENCRYPTION_KEYS = [OLD]
    StorageProfile.objects.create(
        name="p", provider="s3", encrypted_secrets=encrypt_json({"secret": "s" * 10})
    )
    assert "egress_app.E007" not in check_ids(databases=["default"])
    settings.SECRETS_ENCRYPTION_KEYS = [NEW]
    assert "egress_app.E007" in check_ids(databases=["default"])
    assert "egress_app.E007" not in check_ids()  # reads the database only when asked to
