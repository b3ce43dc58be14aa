"""Each channel kind against a real local receiver: an SMTP server (aiosmtpd) and an HTTP
server. Slack, Teams and Discord themselves cannot be reached from here, and Apprise's Slack
plugin posts only to Slack's own host, so Apprise is run for real with its JSON and form
webhook schemes (json://, form://) against the local receiver; for the chat services only
that Apprise accepts their URLs is checked."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import parse_qs

import pytest

from dashboard.settings import mailer
from egress_app.notify import senders
from egress_app.notify.senders import Message, SendError, send
from tests.alerts.conftest import SIGNING_SECRET

MESSAGE = Message(
    alert_id=7,
    event="stream_failed",
    title="Job 3 (Room composite) in town-hall: a stream destination failed",
    text="The stream to rtmp://fail.example.com/live failed.",
    link="https://egress.example.com/jobs/3/",
    created_at="2026-12-05T11:00:00+00:00",
    job={"id": 3, "room": "town-hall"},
)


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does (the README's recipe): HMAC-SHA256 of `<timestamp>.<body>`."""
    signed = headers["X-Egress-Timestamp"].encode() + b"." + body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-Egress-Signature"])


def test_it_emails_the_alert_with_its_link_to_a_real_smtp_server(smtp_inbox, settings):
    send("email", "oncall@example.com, lead@example.com", {}, MESSAGE)

    [email] = smtp_inbox.messages
    assert email["Subject"].strip() == f"[Egress] {MESSAGE.title}"
    assert email["From"] == settings.ALERT_EMAIL_FROM
    assert email["X-Envelope-To"] == "oncall@example.com, lead@example.com"
    assert MESSAGE.link in email.get_content()


def test_it_says_plainly_when_the_mail_server_is_down(settings, closed_port_url):
    settings.MAILERS = {"default": mailer(closed_port_url.replace("http", "smtp", 1))}

    with pytest.raises(SendError, match="mail server refused or could not be reached"):
        send("email", "oncall@example.com", {}, MESSAGE)


def test_it_signs_the_webhook_so_the_receiver_can_verify_it(receiver):
    send("webhook", "", {"url": receiver.url + "/hook", "signing_secret": SIGNING_SECRET}, MESSAGE)

    [got] = receiver.requests
    assert got.path == "/hook"
    assert verify(SIGNING_SECRET, got.headers, got.body)
    assert not verify("another-secret-entirely", got.headers, got.body)
    assert got.headers["X-Egress-Alert-Id"] == "7"
    payload = json.loads(got.body)
    assert payload["event"] == "stream_failed"
    assert payload["link"] == MESSAGE.link
    assert payload["job"] == {"id": 3, "room": "town-hall"}


def test_it_reports_a_webhook_error_status_without_the_url(receiver):
    receiver.statuses.append(503)
    url = receiver.url + "/hook?token=sekrit-token-123"

    with pytest.raises(SendError) as raised:
        send("webhook", "", {"url": url, "signing_secret": SIGNING_SECRET}, MESSAGE)

    assert str(raised.value) == "The webhook answered HTTP 503."


def test_it_hides_the_url_when_the_webhook_cannot_be_reached(closed_port_url):
    url = closed_port_url + "/hook/sekrit-token-123"

    with pytest.raises(SendError) as raised:
        send("webhook", "", {"url": url, "signing_secret": SIGNING_SECRET}, MESSAGE)

    assert "Could not reach the webhook" in str(raised.value)
    assert "sekrit-token-123" not in str(raised.value)


@pytest.mark.parametrize("scheme", ["json", "form"])
def test_it_sends_through_apprise_to_a_real_http_receiver(receiver, scheme):
    url = receiver.url.replace("http", scheme, 1) + "/apprise"

    send("apprise", "", {"url": url}, MESSAGE)

    [got] = receiver.requests
    assert got.path == "/apprise"
    if scheme == "json":
        sent = json.loads(got.body)
    else:
        sent = {name: values[0] for name, values in parse_qs(got.body.decode()).items()}
    assert sent["title"] == MESSAGE.title
    assert sent["message"].endswith("\n\nhttps://egress.example.com/jobs/3/")


def test_it_reports_an_apprise_failure_without_the_url(receiver):
    receiver.statuses.append(500)
    url = receiver.url.replace("http", "json", 1) + "/sekrit-token-123"

    with pytest.raises(SendError) as raised:
        send("apprise", "", {"url": url}, MESSAGE)

    assert "did not accept the alert" in str(raised.value)
    assert "sekrit-token-123" not in str(raised.value)


@pytest.mark.parametrize(
    "url",
    [
        "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#ops",
        # Microsoft Teams through a Power Automate workflow (Apprise 2 retired msteams://).
        "workflows://prod-00.westus.logic.azure.com:443/643e69f83c8944438d68119179a10a64/7Kx2Qd0Vn9cYb3mLr8Tw5Ze1Hs4Ju6Pa/",
        "discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js",
    ],
)
def test_it_accepts_the_chat_services_apprise_urls(url):
    assert senders.apprise_url_ok(url)


def test_it_refuses_what_apprise_does_not_know():
    assert not senders.apprise_url_ok("nosuchservice://x")
