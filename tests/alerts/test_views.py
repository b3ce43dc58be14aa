"""The Alerts page, alert channels and notification rules: support and admins read the
deliveries, admins manage channels and rules; every view for anonymous and each refused role."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from egress_app.models import (
    Alert,
    AlertChannel,
    AlertDelivery,
    AuditEntry,
    AuditTarget,
    NotificationRule,
)
from tests.alerts.conftest import SIGNING_SECRET, email_channel, rule, webhook_channel

pytestmark = pytest.mark.django_db

HOOK_URL = "https://hooks.example.com/services/sekrit-path-0123456789"
ADMIN_PAGES = [
    ("dashboard-alert-channel-list", False),
    ("dashboard-alert-channel-create", False),
    ("dashboard-alert-channel-edit", True),
    ("dashboard-alert-channel-delete", True),
    ("dashboard-alert-rule-list", False),
    ("dashboard-alert-rule-create", False),
    ("dashboard-alert-rule-edit", "rule"),
    ("dashboard-alert-rule-delete", "rule"),
]
ADMIN_POSTS = [*ADMIN_PAGES[1:4], ("dashboard-alert-channel-test", True), *ADMIN_PAGES[5:]]


@pytest.fixture
def hook(admin) -> AlertChannel:
    channel = webhook_channel(admin, HOOK_URL)
    rule(admin, channel, events=["job_failed"], name="Failures")
    return channel


def url_of(name: str, needs: bool | str) -> str:
    if needs == "rule":
        return reverse(name, args=[NotificationRule.objects.get().pk])
    return reverse(name, args=[AlertChannel.objects.get().pk]) if needs else reverse(name)


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_sends_anonymous_visitors_to_sign_in_everywhere(client, hook):
    for name, needs in [("dashboard-alert-list", False), *ADMIN_POSTS]:
        url = url_of(name, needs)
        for response in (client.get(url), client.post(url)):
            assert response.status_code == 302
            assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize("persona", ["producer", "outsider"])
def test_it_refuses_the_alerts_page_to_producers_and_people_without_a_role(request, persona):
    user = request.getfixturevalue(persona)
    assert as_user(user).get(reverse("dashboard-alert-list")).status_code == 403


@pytest.mark.parametrize("persona", ["producer", "support", "outsider"])
@pytest.mark.parametrize(("name", "needs"), ADMIN_POSTS)
def test_it_refuses_managing_alerts_to_every_other_role(request, hook, persona, name, needs):
    client = as_user(request.getfixturevalue(persona))
    url = url_of(name, needs)

    assert client.get(url).status_code in (403, 405)
    assert client.post(url, {"name": "Taken over"}).status_code == 403
    assert AlertChannel.objects.get().name == "Ops webhook"
    assert not Alert.objects.filter(event="test").exists()


def test_it_shows_support_every_delivery_with_a_link_to_its_job(support, hook):
    alert = Alert.objects.create(
        event="job_failed", dedupe_key="k", title="Job 9 failed", link="http://x/jobs/9/"
    )
    AlertDelivery.objects.create(alert=alert, channel=hook, state="failed", last_error="HTTP 500")

    page = as_user(support).get(reverse("dashboard-alert-list")).content.decode()

    assert "Job 9 failed" in page
    assert "Failed (gave up)" in page
    assert "HTTP 500" in page
    assert reverse("dashboard-alert-rule-list") not in page  # support reads, admins manage
    assert HOOK_URL not in page


def test_it_filters_the_deliveries_and_says_when_none_match(admin, hook):
    alert = Alert.objects.create(event="job_failed", dedupe_key="k", title="Job 9 failed")
    AlertDelivery.objects.create(alert=alert, channel=hook, state="sent")
    client = as_user(admin)

    assert "Job 9 failed" in client.get(reverse("dashboard-alert-list"), {"state": "sent"}).text
    empty = client.get(reverse("dashboard-alert-list"), {"state": "failed"}).text
    assert "No alert matches these filters." in empty
    ignored = client.get(reverse("dashboard-alert-list"), {"state": "nonsense", "channel": "x"})
    assert ignored.status_code == 200


def test_it_offers_admins_a_first_step_when_nothing_was_sent(admin):
    page = as_user(admin).get(reverse("dashboard-alert-list")).text

    assert "No alerts yet." in page
    assert reverse("dashboard-alert-channel-list") in page


def test_it_pins_the_alerts_pages_query_count(admin, hook, django_assert_max_num_queries):
    for n in range(20):
        alert = Alert.objects.create(event="job_failed", dedupe_key=f"k{n}", title=f"Job {n}")
        AlertDelivery.objects.create(alert=alert, channel=hook)
    client = as_user(admin)

    with django_assert_max_num_queries(8):
        assert client.get(reverse("dashboard-alert-list")).status_code == 200


def test_it_adds_a_webhook_channel_with_its_secrets_write_only_and_audited(admin):
    client = as_user(admin)
    form = {
        "name": "Pager",
        "kind": "webhook",
        "url": HOOK_URL,
        "signing_secret": SIGNING_SECRET,
        "max_per_hour": "10",
        "enabled": "on",
    }

    response = client.post(reverse("dashboard-alert-channel-create"), form)

    assert response.status_code == 302
    channel = AlertChannel.objects.get()
    assert channel.secrets() == {"url": HOOK_URL, "signing_secret": SIGNING_SECRET}
    assert HOOK_URL not in channel.encrypted_secrets
    edit = client.get(reverse("dashboard-alert-channel-edit", args=[channel.pk])).text
    assert HOOK_URL not in edit
    assert SIGNING_SECRET not in edit
    assert "Stored: ••••6789. Leave empty to keep it." in edit
    entry = AuditEntry.objects.get(target_type=AuditTarget.ALERT_CHANNEL)
    assert entry.action == "created"
    assert "url (set)" in entry.changed_fields
    assert HOOK_URL not in str(entry.changed_fields) + entry.outcome


def test_it_keeps_the_stored_url_when_an_edit_leaves_it_empty(admin, hook):
    form = {"name": "Renamed", "kind": "email", "url": "", "signing_secret": ""}

    response = as_user(admin).post(
        reverse("dashboard-alert-channel-edit", args=[hook.pk]), form | {"max_per_hour": "5"}
    )

    assert response.status_code == 302
    hook.refresh_from_db()
    assert (hook.name, hook.kind, hook.max_per_hour) == ("Renamed", "webhook", 5)
    assert hook.secrets()["url"] == HOOK_URL


@pytest.mark.parametrize(
    ("form", "field", "says"),
    [
        ({"kind": "email", "recipients": "not-an-address"}, "recipients", "is not an email"),
        ({"kind": "apprise", "url": "nosuchservice://x"}, "url", "does not recognise"),
        ({"kind": "webhook", "url": "ftp://x", "signing_secret": SIGNING_SECRET}, "url", "http"),
        ({"kind": "webhook", "url": HOOK_URL, "signing_secret": "short"}, "signing_secret", "16"),
    ],
)
def test_it_refuses_a_channel_it_could_not_use_and_keeps_the_url_unshown(admin, form, field, says):
    data = {"name": "Bad", "max_per_hour": "30", **form}

    response = as_user(admin).post(reverse("dashboard-alert-channel-create"), data)

    assert response.status_code == 200
    assert says in response.context["form"].errors[field][0]
    assert not AlertChannel.objects.exists()
    assert 'value="nosuchservice://x"' not in response.text


def test_it_adds_a_rule_for_rooms_and_causes(admin, hook):
    form = {
        "name": "Webinars",
        "events": ["job_failed", "stream_failed"],
        "causes": ["upload_failed"],
        "room_pattern": "webinar-*",
        "kinds": ["room_composite"],
        "channels": [hook.pk],
        "enabled": "on",
    }

    response = as_user(admin).post(reverse("dashboard-alert-rule-create"), form)

    assert response.status_code == 302
    saved = NotificationRule.objects.get(name="Webinars")
    assert (saved.events, saved.room_pattern) == (["job_failed", "stream_failed"], "webinar-*")
    assert list(saved.channels.all()) == [hook]
    assert AuditEntry.objects.filter(target_type=AuditTarget.ALERT_RULE).exists()
    listed = as_user(admin).get(reverse("dashboard-alert-rule-list")).text
    assert "A stream destination failed while its job runs" in listed


def test_it_refuses_a_rule_without_events_or_channels(admin):
    response = as_user(admin).post(reverse("dashboard-alert-rule-create"), {"name": "Empty"})

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"events", "channels"}


def test_it_deletes_a_channel_and_a_rule_after_confirming(admin, hook):
    client = as_user(admin)
    rule_pk = NotificationRule.objects.get().pk

    confirm = client.get(reverse("dashboard-alert-channel-delete", args=[hook.pk]))
    assert "Delete Ops webhook" in confirm.text
    assert client.post(reverse("dashboard-alert-rule-delete", args=[rule_pk])).status_code == 302
    assert client.post(reverse("dashboard-alert-channel-delete", args=[hook.pk])).status_code == 302

    assert not AlertChannel.objects.exists()
    assert not NotificationRule.objects.exists()
    assert AuditEntry.objects.filter(action="deleted").count() == 2


def test_it_sends_a_test_and_says_it_got_through(admin, receiver):
    channel = webhook_channel(admin, receiver.url + "/test")

    response = as_user(admin).post(
        reverse("dashboard-alert-channel-test", args=[channel.pk]), HTTP_HX_REQUEST="true"
    )

    assert "Ops webhook: the test alert was sent." in response.text
    [got] = receiver.requests
    assert b'"event": "test"' in got.body
    channel.refresh_from_db()
    assert channel.last_test_ok is True
    assert AlertDelivery.objects.get().state == "sent"
    assert AuditEntry.objects.filter(action="tested", target_id=channel.pk).exists()


def test_it_says_plainly_why_a_test_did_not_get_through(admin, receiver):
    channel = webhook_channel(admin, receiver.url + "/test")
    receiver.statuses.append(404)

    response = as_user(admin).post(reverse("dashboard-alert-channel-test", args=[channel.pk]))

    assert "the test alert did not get through." in response.text
    assert "The webhook answered HTTP 404." in response.text
    assert AlertDelivery.objects.get().attempts == 1  # a test is not retried


def test_it_lists_email_recipients_but_never_a_url(admin, hook):
    email_channel(admin)

    page = as_user(admin).get(reverse("dashboard-alert-channel-list")).text

    assert "oncall@example.com" in page
    assert HOOK_URL not in page
    assert "Send test" in page
