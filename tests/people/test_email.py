"""Invitations by email through Django's real SMTP mailer to a real local SMTP server
(aiosmtpd), configured from EMAIL_URL as alerts' email is; and an unreachable server leaves the
admin the link to copy."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from django.test import Client
from django.urls import reverse

from dashboard.settings import mailer
from tests.people.test_views import _invite

pytestmark = pytest.mark.django_db


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd calls it so
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    received = Inbox()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(received, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield received, port
    finally:
        controller.stop()


def _smtp(settings, port: int) -> None:
    settings.EMAIL_CONFIGURED = True
    settings.MAILERS = {"default": mailer(f"smtp://127.0.0.1:{port}")}


def test_it_emails_the_invitation_through_smtp(admin, settings, inbox) -> None:
    received, port = inbox
    _smtp(settings, port)
    client = Client()
    client.force_login(admin)
    token = _invite(client)
    [message] = received.messages
    assert message["To"] == "nina-new@example.com"
    assert f"/welcome/{token}/" in message.get_payload(decode=True).decode()


def test_it_still_shows_the_link_when_the_smtp_server_is_down(
    admin, settings, closed_port_url
) -> None:
    _smtp(settings, int(closed_port_url.rsplit(":", 1)[1].strip("/")))
    client = Client()
    client.force_login(admin)
    response = client.post(
        reverse("dashboard-person-create"),
        {"username": "nina", "email": "nina@example.com", "role": "producers", "how": "invite"},
    )
    assert response.status_code == 200
    assert response.context["emailed"] is False
    assert "/welcome/" in response.context["url"]
