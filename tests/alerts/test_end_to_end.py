"""Issue 17's "done when": a stream fails in the sandbox (it fails streams to `fail.*` RTMP
hosts), and within seconds a real SMTP inbox and a real webhook receiver have the alert, with
the job's link, once: LiveKit's webhook arriving twice, the reconciler seeing the same state,
and the receiver's first answer being an error (so the worker retries) change nothing.

What LiveKit sends is the sandbox's own EgressInfo, handed to the webhook action and the
reconciler's `observe` as the webhook endpoint and the reconciler hand them."""

from __future__ import annotations

import json
import time

import pytest
from livekit.protocol import webhook

from egress_app import actions
from egress_app.actions.alert_delivery import deliver_due
from egress_app.models import Alert, AlertDelivery
from tests.alerts.conftest import email_channel, rule, webhook_channel
from tests.alerts.test_senders import verify
from tests.browser.every_page import FAILING_URL
from tests.jobs import make_destination, start, stream_config

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

WITHIN_SECONDS = 10.0


def test_it_brings_a_failed_stream_to_an_smtp_inbox_and_a_webhook_once(
    admin, producer, sandbox, smtp_inbox, receiver, settings
):
    settings.SITE_ROOT = "https://egress.example.com"
    settings.ALERT_RETRY_SECONDS = 0.2
    hook = webhook_channel(admin, receiver.url + "/alerts")
    rule(admin, email_channel(admin), hook, events=["stream_failed"], room_pattern="town-*")
    broken = actions.create_stream_destination(
        admin, name="Broken", server_url=FAILING_URL, stream_key="e2e-stream-key-123"
    )
    job = start(producer, stream_config(make_destination(admin), broken))
    receiver.statuses.append(503)  # the receiver's first answer is an error: retried

    info = sandbox.control.wait_for_status(job.egress_id, "ACTIVE")
    began = time.monotonic()
    event = webhook.WebhookEvent(
        event="egress_updated", id="EV_e2e_stream", egress_info=info, created_at=int(time.time())
    )
    actions.receive_webhook(event)
    actions.receive_webhook(event)  # LiveKit retried it
    actions.observe(info)  # and the reconciler saw the same
    while time.monotonic() - began < WITHIN_SECONDS:
        deliver_due()
        if smtp_inbox.messages and len(receiver.requests) >= 2:
            break
        time.sleep(0.05)
    took = time.monotonic() - began
    print(f"failed stream reached the SMTP inbox and the webhook in {took:.2f} s")

    link = f"https://egress.example.com/jobs/{job.pk}/"
    [email] = smtp_inbox.messages
    assert "a stream destination failed" in email["Subject"]
    assert link in email.get_content()
    assert "rtmp://fail.example.com/live" in email.get_content()
    assert "e2e-stream-key-123" not in email.as_string()
    failed_try, accepted = receiver.requests
    assert failed_try.headers["X-Egress-Alert-Id"] == accepted.headers["X-Egress-Alert-Id"]
    assert verify("whsec-alerts-test-0123456789", accepted.headers, accepted.body)
    payload = json.loads(accepted.body)
    assert (payload["event"], payload["link"], payload["job"]["id"]) == (
        "stream_failed",
        link,
        job.pk,
    )
    assert "e2e-stream-key-123" not in accepted.body.decode()
    assert took < WITHIN_SECONDS
    assert Alert.objects.count() == 1
    assert sorted(AlertDelivery.objects.values_list("state", "attempts")) == [
        ("sent", 1),
        ("sent", 2),
    ]
    deliver_due()
    assert len(smtp_inbox.messages) == 1
    assert len(receiver.requests) == 2
