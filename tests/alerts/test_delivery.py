"""The worker's delivery: retried with a doubling wait, given up after ALERT_MAX_ATTEMPTS,
rate-limited per channel, claimed by one worker at a time; against real local receivers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from egress_app.actions.alert_delivery import _claim, backoff, deliver_due
from egress_app.models import Alert, AlertDelivery, DeliveryState
from tests.alerts.conftest import email_channel, webhook_channel

pytestmark = pytest.mark.django_db


def alert_to(*channels, key: str = "job:1:cause:x") -> Alert:
    alert = Alert.objects.create(
        event="job_failed", dedupe_key=key, title="Job 1 failed", link="http://x/jobs/1/"
    )
    for channel in channels:
        AlertDelivery.objects.create(alert=alert, channel=channel)
    return alert


def delivery() -> AlertDelivery:
    return AlertDelivery.objects.get()


def test_it_retries_a_failed_webhook_after_a_wait_then_sends_it_once(admin, receiver, settings):
    settings.ALERT_RETRY_SECONDS = 10
    alert_to(webhook_channel(admin, receiver.url))
    receiver.statuses.append(500)
    now = timezone.now()

    assert deliver_due(now).retrying == 1
    assert deliver_due(now + timedelta(seconds=5)).sent == 0  # not due yet
    assert delivery().last_error == "The webhook answered HTTP 500."
    assert deliver_due(now + timedelta(seconds=11)).sent == 1

    first, second = receiver.requests
    assert first.headers["X-Egress-Alert-Id"] == second.headers["X-Egress-Alert-Id"]
    assert (delivery().state, delivery().attempts, delivery().last_error) == ("sent", 2, "")
    assert deliver_due(now + timedelta(hours=1)).sent == 0
    assert len(receiver.requests) == 2


def test_it_doubles_the_wait_up_to_an_hour(settings):
    settings.ALERT_RETRY_SECONDS = 10

    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert backoff(30) == timedelta(hours=1)


def test_it_gives_up_after_the_last_attempt(admin, receiver, settings):
    settings.ALERT_RETRY_SECONDS, settings.ALERT_MAX_ATTEMPTS = 1, 3
    alert_to(webhook_channel(admin, receiver.url))
    receiver.statuses.extend([502, 502, 502, 502])
    now = timezone.now()

    outcomes = [deliver_due(now + timedelta(minutes=n)) for n in range(4)]

    assert [(run.retrying, run.failed) for run in outcomes] == [(1, 0), (1, 0), (0, 1), (0, 0)]
    assert (delivery().state, delivery().attempts) == (DeliveryState.FAILED, 3)
    assert len(receiver.requests) == 3


def test_it_rate_limits_each_channel_per_hour(admin, receiver, smtp_inbox):
    hook = webhook_channel(admin, receiver.url, max_per_hour=2)
    email = email_channel(admin)
    for n in range(3):
        alert_to(hook, email, key=f"job:{n}:cause:x")

    run = deliver_due()

    assert (run.sent, run.rate_limited) == (5, 1)
    assert len(receiver.requests) == 2
    assert len(smtp_inbox.messages) == 3
    limited = AlertDelivery.objects.get(state=DeliveryState.RATE_LIMITED)
    assert limited.channel == hook
    assert limited.last_error == "The channel sent 2 in the last hour."


def test_it_lets_one_worker_claim_a_delivery(admin, receiver):
    alert_to(webhook_channel(admin, receiver.url))
    pk, now = delivery().pk, timezone.now()

    assert _claim(pk, now) is not None
    assert _claim(pk, now) is None
    assert deliver_due(now).sent == 0


def test_it_takes_back_a_delivery_whose_worker_died_mid_send(admin, receiver):
    alert_to(webhook_channel(admin, receiver.url))
    now = timezone.now()
    _claim(delivery().pk, now)

    assert deliver_due(now + timedelta(minutes=5)).sent == 1
    assert len(receiver.requests) == 1


def test_it_says_why_a_channel_turned_off_sent_nothing(admin, receiver, settings):
    settings.ALERT_MAX_ATTEMPTS = 1
    channel = webhook_channel(admin, receiver.url)
    alert_to(channel)
    type(channel).objects.filter(pk=channel.pk).update(enabled=False)

    assert deliver_due().failed == 1
    assert delivery().last_error == "The channel is turned off."
    assert receiver.requests == []


def test_it_delivers_from_the_egress_worker_loop(admin, smtp_inbox, settings, closed_port_url):
    settings.LIVEKIT_URL = closed_port_url  # LiveKit down: the reconciler fails, alerts still go
    alert_to(email_channel(admin))

    call_command("egress_worker", once=True)

    assert len(smtp_inbox.messages) == 1
    assert delivery().state == DeliveryState.SENT
