"""Encryption at rest for stored credentials: a `SecretBox` over Fernet keys from the settings.

SECRETS_ENCRYPTION_KEYS lists Fernet keys newest first: the newest encrypts, every key decrypts, so
a key is rotated by putting a new one first, running `manage.py rotate_secrets`, then dropping the
old one. Outside production an empty list falls back to one key derived from SECRET_KEY.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

GENERATE_KEY = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)
MASK = "••••"


class SecretKeyError(Exception):
    """The encryption keys are missing or invalid, or no configured key decrypts stored data."""


def missing_keys_error() -> SecretKeyError:
    return SecretKeyError(
        "SECRETS_ENCRYPTION_KEYS is not set, so stored storage credentials and stream keys can be "
        "neither encrypted nor read in production. Set it to one or more Fernet keys, newest "
        f"first and comma-separated; generate a key with: {GENERATE_KEY}"
    )


def invalid_key_error(position: int, count: int) -> SecretKeyError:
    # Never quote the key itself: it is the secret.
    return SecretKeyError(
        f"SECRETS_ENCRYPTION_KEYS entry {position} of {count} is not a valid Fernet key (32 "
        f"url-safe base64-encoded bytes). Replace it with a key made by: {GENERATE_KEY}"
    )


def undecryptable_error() -> SecretKeyError:
    return SecretKeyError(
        "Stored secrets cannot be decrypted with any key in SECRETS_ENCRYPTION_KEYS (in "
        "development without that setting: the key derived from SECRET_KEY, which may have "
        "changed). Add the key that encrypted them back to SECRETS_ENCRYPTION_KEYS, after the "
        "newest one, and run `python manage.py rotate_secrets` before dropping it."
    )


def development_key(secret_key: str) -> str:
    """The Fernet key derived from SECRET_KEY, for development without SECRETS_ENCRYPTION_KEYS."""
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"egress-dashboard secrets"
    ).derive(secret_key.encode())
    return base64.urlsafe_b64encode(derived).decode()


def configured_keys() -> tuple[str, ...]:
    """The keys in use, newest first; raises SecretKeyError when production has none."""
    keys = tuple(settings.SECRETS_ENCRYPTION_KEYS)
    if keys:
        return keys
    if settings.DEBUG or settings.ENVIRONMENT != "production":
        return (development_key(settings.SECRET_KEY),)
    raise missing_keys_error()


@functools.lru_cache(maxsize=8)
def _fernets(keys: tuple[str, ...]) -> MultiFernet:
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, binascii.Error):
            raise invalid_key_error(position, len(keys)) from None
    return MultiFernet(fernets)


class SecretBox:
    """Encrypts dicts of secret strings as one Fernet token of their JSON."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        self._fernet = _fernets(keys)

    def encrypt_json(self, values: dict[str, str]) -> str:
        return self._fernet.encrypt(json.dumps(values, sort_keys=True).encode()).decode()

    def decrypt_json(self, token: str) -> dict[str, str]:
        if not token:
            return {}
        try:
            values = json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken:
            raise undecryptable_error() from None
        if not isinstance(values, dict):
            raise SecretKeyError("Stored secrets decrypt to something other than a JSON object.")
        return {str(name): str(value) for name, value in values.items()}

    def reencrypt(self, token: str) -> str:
        if not token:
            return token
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise undecryptable_error() from None


def secret_box() -> SecretBox:
    return SecretBox(configured_keys())


def encrypt_json(values: dict[str, str]) -> str:
    """A token of `values` under the newest key."""
    return secret_box().encrypt_json(values)


def decrypt_json(token: str) -> dict[str, str]:
    """The values in `token`, decrypted with whichever configured key made it; "" is {}."""
    return secret_box().decrypt_json(token)


def reencrypt(token: str) -> str:
    """The same values under the newest key."""
    return secret_box().reencrypt(token)


def hint(value: str) -> str:
    """A masked reminder of a secret: its last 4 characters, nothing for short values."""
    if len(value) < 8:
        return MASK
    return MASK + value[-4:]
