"""A channel's URL and signing secret are kept like every other stored secret: encrypted,
re-encrypted by `rotate_secrets`, and hidden in whatever LiveKit says."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from egress_app.models import AlertChannel, stored_secrets
from tests.alerts.conftest import SIGNING_SECRET, webhook_channel

pytestmark = pytest.mark.django_db

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
URL = "https://hooks.example.com/alerts?token=rotation-token-0042"


def test_it_reencrypts_channel_secrets_with_the_newest_key(admin, settings):
    settings.SECRETS_ENCRYPTION_KEYS = [OLD]
    channel = webhook_channel(admin, URL)

    settings.SECRETS_ENCRYPTION_KEYS = [NEW, OLD]
    call_command("rotate_secrets", stdout=StringIO())
    settings.SECRETS_ENCRYPTION_KEYS = [NEW]

    channel = AlertChannel.objects.get(pk=channel.pk)
    assert channel.secrets() == {"url": URL, "signing_secret": SIGNING_SECRET}


def test_it_hides_channel_secrets_in_what_livekit_says(admin):
    webhook_channel(admin, URL)

    said = stored_secrets().hide(f"could not post to {URL} (key {SIGNING_SECRET})")

    assert "rotation-token-0042" not in said  # a URL: its secret parts
    assert SIGNING_SECRET not in said
