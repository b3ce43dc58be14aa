from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils.html import escape

from egress_app import actions
from egress_app.actions.egress import NOT_BY_OWNER
from egress_app.models import AuditAction, AuditEntry, AuditTarget
from tests.dashboard.test_home import text_of
from tests.jobs import ADHOC, ADHOC_KEY, live, make_destination, start, stream_config

pytestmark = pytest.mark.django_db

AUDIT = reverse("dashboard-audit")


def entry(at: datetime, actor: str = "ada-admin", **fields: object) -> AuditEntry:
    values = {
        "action": AuditAction.CHANGED,
        "target_type": AuditTarget.STORAGE_PROFILE,
        "target_name": "Main bucket",
    }
    return AuditEntry.objects.create(at=at, actor_name=actor, **(values | fields))


def rows(response) -> list[str]:
    html = response.content.decode()
    return [chunk.split('"')[0] for chunk in html.split('data-audit="')[1:]]


@pytest.fixture
def as_admin(client, admin):
    client.force_login(admin)
    return client


def test_it_sends_anonymous_visitors_to_the_login_page(client):
    response = client.get(AUDIT)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={AUDIT}"


@pytest.mark.parametrize("persona", ["producer", "outsider"])
def test_it_refuses_every_other_role(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(AUDIT)
    assert response.status_code == 403
    assert "You don't have access to this page" in text_of(response)


def test_it_opens_for_an_admin(as_admin):
    response = as_admin.get(AUDIT)
    assert response.status_code == 200
    assert "The audit log is empty" in text_of(response)


def test_it_lists_what_the_actions_recorded_newest_first(as_admin, admin):
    profile = actions.create_storage_profile(
        admin,
        name="Main bucket",
        provider="s3",
        config={"bucket": "main-bucket", "region": "us-east-1"},
        secrets={"access_key": "AKIAAUDITTEST0001", "secret": "audit-test-secret-0001"},
    )
    actions.duplicate_storage_profile(admin, profile, name="Copy")
    actions.create_stream_destination(
        None, name="YouTube", server_url="rtmp://a.rtmp.youtube.com/live2", stream_key="key-1234"
    )
    response = as_admin.get(AUDIT)
    html = response.content.decode()
    ids = rows(response)
    assert ids == [
        str(pk) for pk in AuditEntry.objects.order_by("-at", "-id").values_list("pk", flat=True)
    ]
    first = html.split(f'data-audit="{ids[0]}"')[1].split("</tr>")[0]
    assert "system" in first
    assert "Stream destination <strong>YouTube</strong>" in first
    last = html.split(f'data-audit="{ids[-1]}"')[1].split("</tr>")[0]
    assert "ada-admin" in last
    assert "Created" in last
    assert "access_key (set), secret (set)" in last
    assert "<time datetime=" in last
    assert "audit-test-secret-0001" not in html


def test_it_filters_by_action_target_actor_and_dates(as_admin):
    old = entry(datetime(2026, 1, 5, 10, tzinfo=UTC), action=AuditAction.CREATED)
    tested = entry(datetime(2026, 2, 1, 9, tzinfo=UTC), action=AuditAction.TESTED, actor="bo")
    stream = entry(
        datetime(2026, 2, 3, 23, 59, tzinfo=UTC), target_type=AuditTarget.STREAM_DESTINATION
    )
    assert rows(as_admin.get(AUDIT, {"action": "tested"})) == [str(tested.pk)]
    assert rows(as_admin.get(AUDIT, {"target_type": "stream_destination"})) == [str(stream.pk)]
    assert rows(as_admin.get(AUDIT, {"actor": "bo"})) == [str(tested.pk)]
    assert rows(as_admin.get(AUDIT, {"since": "2026-02-01"})) == [str(stream.pk), str(tested.pk)]
    assert rows(as_admin.get(AUDIT, {"until": "2026-02-01"})) == [str(tested.pk), str(old.pk)]
    both = {"since": "2026-02-02", "until": "2026-02-03"}
    assert rows(as_admin.get(AUDIT, both)) == [str(stream.pk)]


def test_it_keeps_the_filters_in_the_form_and_the_page_links(as_admin):
    for day in range(1, 28):
        for hour in range(3):
            entry(datetime(2026, 3, day, hour, tzinfo=UTC), action=AuditAction.TESTED)
    entry(datetime(2026, 3, 1, tzinfo=UTC))
    response = as_admin.get(AUDIT, {"action": "tested", "since": "2026-03-01"})
    html = response.content.decode()
    assert len(rows(response)) == 50
    assert '<option value="tested" selected>' in html
    assert 'value="2026-03-01"' in html
    assert 'href="?action=tested&amp;since=2026-03-01&amp;page=2" rel="next">Older</a>' in html
    assert "Page 1 of 2" in text_of(response)
    second = as_admin.get(AUDIT, {"action": "tested", "since": "2026-03-01", "page": "2"})
    assert len(rows(second)) == 81 - 50
    assert "Clear filters" in text_of(second)


def test_it_explains_filters_that_do_not_make_sense(as_admin):
    entry(datetime(2026, 2, 1, tzinfo=UTC))
    response = as_admin.get(AUDIT, {"since": "2026-03-01", "until": "2026-02-01"})
    assert "The end date is before the start date." in text_of(response)
    response = as_admin.get(AUDIT, {"action": "exploded"})
    assert "Select a valid choice." in text_of(response)


def test_it_says_when_nothing_matches(as_admin):
    entry(datetime(2026, 2, 1, tzinfo=UTC))
    response = as_admin.get(AUDIT, {"action": "deleted"})
    assert "Nothing in the audit log matches these filters." in text_of(response)


def test_it_pins_the_query_count(as_admin, django_assert_num_queries):
    for day in range(1, 20):
        entry(datetime(2026, 3, day, tzinfo=UTC), actor=f"user-{day % 3}")
    # Session, user, permissions (2), the actors for the filter, the count, the page.
    with django_assert_num_queries(8):
        as_admin.get(AUDIT)


# --- jobs ---------------------------------------------------------------------------------------
def test_support_reads_the_job_entries_only(client, support):
    job = entry(datetime(2026, 2, 1, tzinfo=UTC), "pat-producer", target_type=AuditTarget.JOB)
    entry(datetime(2026, 2, 2, tzinfo=UTC), target_type=AuditTarget.STORAGE_PROFILE)
    entry(datetime(2026, 2, 3, tzinfo=UTC), "rex", target_type=AuditTarget.RECIPE)
    client.force_login(support)

    response = client.get(AUDIT)

    assert rows(response) == [str(job.pk)]
    html = response.content.decode()
    assert '<option value="job">Job</option>' in html
    assert 'value="storage_profile"' not in html
    assert '<option value="ada-admin">' not in html  # who changed the vault is not theirs
    assert '<option value="rex">' not in html
    assert rows(client.get(AUDIT, {"target_type": "storage_profile"})) == [str(job.pk)]


def test_it_shows_admins_a_stream_added_to_another_producers_job(client, admin, producer, sandbox):
    job = live(sandbox, start(producer, stream_config(make_destination(admin))))
    actions.add_stream_outputs(admin, job, adhoc_urls=[ADHOC])
    client.force_login(admin)

    response = client.get(AUDIT, {"action": "streams_added"})

    [added] = rows(response)
    html = response.content.decode()
    row = html.split(f'data-audit="{added}"')[1].split("</tr>")[0]
    assert "ada-admin" in row
    assert f'href="{reverse("dashboard-job-detail", args=[job.pk])}"' in row
    shown = f"rtmp://live.example.com/app/{{SEC...123}} · {NOT_BY_OWNER} (pat-producer)"
    assert escape(shown) in row
    assert ADHOC_KEY not in html
