"""Re-encrypt every stored secret with the newest key: `python manage.py rotate_secrets`.

Rotation: put a new key first in SECRETS_ENCRYPTION_KEYS (keep the old one after it), deploy,
run this command, then drop the old key.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from egress_app.actions import rotate_all_secrets
from egress_app.crypto import SecretKeyError


class Command(BaseCommand):
    help = "Re-encrypt every stored credential and stream key with the newest encryption key."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = rotate_all_secrets()
        except SecretKeyError as error:
            raise CommandError(f"{error} Nothing was re-encrypted.") from None
        noun = "secret" if count == 1 else "secrets"
        self.stdout.write(
            self.style.SUCCESS(f"Re-encrypted {count} stored {noun} with the newest key.")
        )
