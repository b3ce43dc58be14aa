"""Delivering alerts, run by the worker (`manage.py egress_worker`) on every loop:

1. deliveries whose sender died mid-send (a claim past its time) go back to waiting;
2. each waiting delivery that is due is claimed with a conditional update (several workers
   never send one twice);
3. a channel that already sent `max_per_hour` alerts in the last hour does not send it
   (RATE_LIMITED, logged on the Alerts page);
4. otherwise it is sent: SENT, or tried again after ALERT_RETRY_SECONDS doubling each time
   (at most an hour), until ALERT_MAX_ATTEMPTS tries failed (FAILED).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from egress_app.crypto import SecretKeyError
from egress_app.models import AlertDelivery, DeliveryState
from egress_app.notify.senders import Message, SendError, send

logger = logging.getLogger("egress_app.alerts")

BATCH = 50
LONGEST_WAIT = timedelta(hours=1)


@dataclass
class DeliveryRun:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    rate_limited: int = 0

    def __bool__(self) -> bool:
        return bool(self.sent or self.retrying or self.failed or self.rate_limited)


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed try."""
    wait = timedelta(seconds=settings.ALERT_RETRY_SECONDS * 2 ** max(0, attempts - 1))
    return min(wait, LONGEST_WAIT)


def deliver_due(now: datetime | None = None) -> DeliveryRun:
    """Send every delivery that is due (steps in the module docstring)."""
    now = now or timezone.now()
    AlertDelivery.objects.filter(state=DeliveryState.SENDING, claimed_until__lt=now).update(
        state=DeliveryState.PENDING, claimed_until=None
    )
    due = AlertDelivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now)
    run = DeliveryRun()
    for pk in due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:BATCH]:
        if (delivery := _claim(pk, now)) is not None:
            outcome = attempt(delivery, now)
            setattr(run, outcome, getattr(run, outcome) + 1)
    return run


def _claim(pk: int, now: datetime) -> AlertDelivery | None:
    lease = now + timedelta(seconds=settings.ALERT_SEND_TIMEOUT * 3 + 30)
    claimed = AlertDelivery.objects.filter(pk=pk, state=DeliveryState.PENDING).update(
        state=DeliveryState.SENDING, claimed_until=lease
    )
    if claimed != 1:
        return None  # another worker took it
    return AlertDelivery.objects.select_related("alert", "alert__job", "channel").get(pk=pk)


def attempt(delivery: AlertDelivery, now: datetime | None = None) -> str:
    """Send one claimed delivery and keep its outcome; the outcome's name in DeliveryRun."""
    now = now or timezone.now()
    if _over_limit(delivery, now):
        limit = delivery.channel.max_per_hour
        _finish(delivery, DeliveryState.RATE_LIMITED, f"The channel sent {limit} in the last hour.")
        return "rate_limited"
    try:
        _send(delivery)
    except (SendError, SecretKeyError) as error:
        return _failed(delivery, str(error), now)
    _finish(delivery, DeliveryState.SENT, "", sent_at=timezone.now())
    return "sent"


def _over_limit(delivery: AlertDelivery, now: datetime) -> bool:
    channel = delivery.channel
    if delivery.alert.event == "test":
        return False  # a person asked for it
    recent = AlertDelivery.objects.filter(
        channel=channel, state=DeliveryState.SENT, sent_at__gte=now - timedelta(hours=1)
    )
    return recent.count() >= channel.max_per_hour


def _send(delivery: AlertDelivery) -> None:
    channel = delivery.channel
    if not channel.enabled and delivery.alert.event != "test":
        raise SendError("The channel is turned off.")
    send(channel.kind, channel.recipients, channel.secrets(), message_of(delivery))


def message_of(delivery: AlertDelivery) -> Message:
    alert, job = delivery.alert, delivery.alert.job
    about = None
    if job is not None:
        about = {
            "id": job.pk,
            "egress_id": job.egress_id or "",
            "room": job.room_name,
            "kind": job.kind,
            "status": job.status,
            "cause": job.cause,
        }
    return Message(
        alert_id=alert.pk,
        event=alert.event,
        title=alert.title,
        text=alert.text,
        link=alert.link,
        created_at=alert.created_at.isoformat(),
        job=about,
    )


def _failed(delivery: AlertDelivery, error: str, now: datetime) -> str:
    tries = delivery.attempts + 1
    if tries >= settings.ALERT_MAX_ATTEMPTS or delivery.alert.event == "test":
        _finish(delivery, DeliveryState.FAILED, error)
        logger.warning("Alert delivery %s failed for good: %s", delivery.pk, error)
        return "failed"
    AlertDelivery.objects.filter(pk=delivery.pk).update(
        state=DeliveryState.PENDING,
        attempts=F("attempts") + 1,
        next_attempt_at=now + backoff(tries),
        claimed_until=None,
        last_error=error,
    )
    return "retrying"


def _finish(
    delivery: AlertDelivery, state: str, error: str, sent_at: datetime | None = None
) -> None:
    tried = 0 if state == DeliveryState.RATE_LIMITED else 1
    AlertDelivery.objects.filter(pk=delivery.pk).update(
        state=state,
        attempts=F("attempts") + tried,
        claimed_until=None,
        last_error=error,
        sent_at=sent_at,
    )
