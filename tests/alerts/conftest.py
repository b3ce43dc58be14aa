"""Real local receivers for the alert channels: an SMTP server (aiosmtpd) keeping what it is
sent, and an HTTP server keeping each request (a webhook, or Apprise's json:// and form://)
and answering with the statuses a test queues."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth.models import User

from dashboard.settings import mailer
from egress_app.actions.alerts import ChannelFields, RuleFields, save_alert_channel, save_rule
from egress_app.models import AlertChannel, NotificationRule
from tests.servers import free_port

SIGNING_SECRET = "whsec-alerts-test-0123456789"


@dataclass
class Inbox:
    """What the SMTP server received: one email Message per DATA."""

    messages: list[Message] = field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        email = message_from_bytes(envelope.content, policy=policy.default)
        email["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(email)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_inbox(settings) -> Iterator[Inbox]:
    """A real SMTP server on a free port, and Django's email backend pointed at it."""
    inbox = Inbox(port=free_port())
    controller = Controller(inbox, hostname=inbox.host, port=inbox.port)
    controller.start()
    settings.MAILERS = {"default": mailer(f"smtp://{inbox.host}:{inbox.port}")}
    try:
        yield inbox
    finally:
        controller.stop()


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP endpoint: the `requests` it got, each answered with the next of `statuses`
    (200 once none are left)."""

    url: str
    requests: list[Request] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0  # seconds before each answer (a slow receiver)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    port = free_port()
    got = Receiver(url=f"http://127.0.0.1:{port}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            got.requests.append(Request(self.path, dict(self.headers.items()), body))
            time.sleep(got.delay)
            self.send_response(got.statuses.pop(0) if got.statuses else 200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield got
    finally:
        server.shutdown()
        server.server_close()


def email_channel(admin: User, name: str = "On-call email", **extra: Any) -> AlertChannel:
    fields = ChannelFields(name=name, kind="email", recipients="oncall@example.com", **extra)
    return save_alert_channel(admin, None, fields, {})


def webhook_channel(admin: User, url: str, name: str = "Ops webhook", **extra: Any) -> AlertChannel:
    fields = ChannelFields(name=name, kind="webhook", **extra)
    secrets = {"url": url, "signing_secret": SIGNING_SECRET}
    return save_alert_channel(admin, None, fields, secrets)


def apprise_channel(admin: User, url: str, name: str = "Chat") -> AlertChannel:
    return save_alert_channel(admin, None, ChannelFields(name=name, kind="apprise"), {"url": url})


def rule(
    admin: User, *channels: AlertChannel, events: list[str], name: str = "Everything", **extra: Any
) -> NotificationRule:
    fields = RuleFields(
        name=name,
        events=events,
        causes=extra.pop("causes", []),
        room_pattern=extra.pop("room_pattern", ""),
        kinds=extra.pop("kinds", []),
        channels=list(channels),
        **extra,
    )
    return save_rule(admin, None, fields)
