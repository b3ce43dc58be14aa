"""What every model of the dashboard shares: its permissions anchor and its encrypted secrets."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import models

from egress_app.crypto import decrypt_json, encrypt_json, hint
from egress_app.roles import PERMISSIONS


class Access(models.Model):
    """A table-less anchor for the dashboard's own permissions (see egress_app/roles.py).

    Permissions need a content type; the domain models added later carry their own.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = list(PERMISSIONS.items())
        verbose_name = "dashboard access"

    def __str__(self) -> str:
        return "dashboard access"


# Models with a JSONField declare it, so that Django's JSONField system check need not query the
# database on every run of the checks (tests of the checks run without one). Every backend the
# dashboard supports (PostgreSQL, SQLite with JSON1) has it.
NEEDS_JSON = ("supports_json_field",)


class SecretsMixin(models.Model):
    """Secret values kept as one Fernet token of their JSON (see egress_app/crypto.py)."""

    encrypted_secrets = models.TextField(blank=True, default="")

    class Meta:
        abstract = True

    def secrets(self) -> dict[str, str]:
        """The decrypted secrets; SecretKeyError when no configured key can read them."""
        return decrypt_json(self.encrypted_secrets)

    def set_secrets(self, values: Mapping[str, str]) -> None:
        kept = {name: value for name, value in values.items() if value}
        self.encrypted_secrets = encrypt_json(kept) if kept else ""

    def secret_hints(self) -> dict[str, str]:
        """Field name -> masked hint, for the secrets that are set."""
        return {name: hint(value) for name, value in self.secrets().items() if value}
