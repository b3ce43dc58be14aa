"""One function per channel kind; each raises SendError, in plain words and with the channel's
secrets hidden, when the alert did not get through."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import apprise
import httpx
from django.conf import settings
from django.core.mail import EmailMessage

from egress_app.redact import Secrets

SIGNATURE_HEADER = "X-Egress-Signature"
TIMESTAMP_HEADER = "X-Egress-Timestamp"
ALERT_ID_HEADER = "X-Egress-Alert-Id"


class SendError(Exception):
    """The alert did not get through; the message says why, without secrets."""


@dataclass(frozen=True)
class Message:
    """What an alert says, the same on every channel."""

    alert_id: int
    event: str
    title: str
    text: str
    link: str
    created_at: str
    job: dict[str, Any] | None = field(default=None)

    def body(self) -> str:
        """The plain-text body: the text, then the link to the job (or page) it is about."""
        return "\n\n".join(part for part in (self.text, self.link) if part)


def send(kind: str, recipients: str, secrets: Mapping[str, str], message: Message) -> None:
    """Send `message` on a channel of `kind` ("email", "apprise" or "webhook")."""
    hide = Secrets(secret_parts(secrets)).hide
    try:
        SENDERS[kind](recipients, secrets, message)
    except SendError as error:
        raise SendError(hide(str(error))) from None


def secret_parts(secrets: Mapping[str, str]) -> list[str]:
    """Each secret, and each part of a secret URL that may be a token on its own: its user and
    password, path segments, query values and fragment; and the host of a service URL (an
    Apprise `discord://ID/TOKEN` keeps an id there), not of an http(s) address."""
    parts = list(secrets.values())
    for value in secrets.values():
        url = urlsplit(value)
        if not url.scheme:
            continue
        parts += [url.username or "", url.password or "", url.fragment]
        parts += url.path.split("/") + [v for _, v in parse_qsl(url.query)]
        if url.scheme not in ("http", "https"):
            parts.append(url.hostname or "")
    return [part for part in parts if part]


def send_email(recipients: str, secrets: Mapping[str, str], message: Message) -> None:
    addresses = email_addresses(recipients)
    if not addresses:
        raise SendError("The channel has no email address to send to.")
    email = EmailMessage(
        subject=f"[Egress] {message.title}",
        body=message.body(),
        from_email=settings.ALERT_EMAIL_FROM,
        to=addresses,
    )
    try:
        email.send(using="default")
    except Exception as error:  # smtplib, socket and backend errors alike
        raise SendError(f"The mail server refused or could not be reached: {error}") from None


def email_addresses(recipients: str) -> list[str]:
    return [part.strip() for part in recipients.replace(";", ",").split(",") if part.strip()]


def send_apprise(recipients: str, secrets: Mapping[str, str], message: Message) -> None:
    notifier = apprise.Apprise()
    with _apprise_logs_hiding(secret_parts(secrets)):
        if not notifier.add(secrets.get("url", "")):
            raise SendError("Apprise does not recognise this channel's URL: check it, save again.")
        with apprise.LogCapture(level=logging.WARNING) as logs:
            sent = notifier.notify(title=message.title, body=message.body())
    if not sent:
        said = " ".join(logs.getvalue().split())[-300:]
        raise SendError(f"The service did not accept the alert. {said}".strip())


@contextmanager
def _apprise_logs_hiding(values: Iterable[str]) -> Iterator[None]:
    """Apprise logs the URLs it loads and dials (their tokens) at DEBUG: hidden before any
    handler sees them."""
    hiding = _Hiding(Secrets(values).hide)
    apprise_logger = logging.getLogger("apprise")
    apprise_logger.addFilter(hiding)
    try:
        yield
    finally:
        apprise_logger.removeFilter(hiding)


class _Hiding(logging.Filter):
    """Rewrites each record of the logger it filters with the secrets hidden."""

    def __init__(self, hide: Callable[[str], str]) -> None:
        super().__init__()
        self._hide = hide

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self._hide(record.getMessage()), None
        return True


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` and the hex HMAC-SHA256, keyed with the signing secret, of
    `<timestamp>.<body>`: what a receiver recomputes to trust a webhook."""
    signed = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def send_webhook(recipients: str, secrets: Mapping[str, str], message: Message) -> None:
    body = json.dumps(asdict(message), sort_keys=True).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "egress-dashboard-alerts",
        ALERT_ID_HEADER: str(message.alert_id),
        TIMESTAMP_HEADER: timestamp,
    }
    if secret := secrets.get("signing_secret", ""):
        headers[SIGNATURE_HEADER] = signature(secret, timestamp, body)
    try:
        answer = httpx.post(
            secrets.get("url", ""),
            content=body,
            headers=headers,
            timeout=settings.ALERT_SEND_TIMEOUT,
        )
    except httpx.HTTPError as error:
        raise SendError(f"Could not reach the webhook: {error}") from None
    if not answer.is_success:
        raise SendError(f"The webhook answered HTTP {answer.status_code}.")


SENDERS = {"email": send_email, "apprise": send_apprise, "webhook": send_webhook}


def apprise_url_ok(url: str) -> bool:
    """Whether Apprise knows the service this URL names (a form checks it before saving)."""
    with _apprise_logs_hiding(secret_parts({"url": url})):
        return bool(apprise.Apprise().add(url))
