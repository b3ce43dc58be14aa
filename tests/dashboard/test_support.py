"""Support's failure inbox, and a job's notes and triage: who may use them, and what they show."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from egress_app.models import (
    AuditAction,
    AuditEntry,
    EgressJob,
    EgressStatus,
    JobFlag,
    JobNote,
    LaunchState,
    Triage,
)
from tests.dashboard.test_home import text_of

pytestmark = pytest.mark.django_db

INBOX = reverse("dashboard-failures")


def failed(error: str, egress_id: str, **fields: object) -> EgressJob:
    fields.setdefault("status", EgressStatus.FAILED)
    return EgressJob.objects.create(
        egress_id=egress_id, kind="room_composite", room_name="town-hall", error=error, **fields
    )


@pytest.fixture
def job() -> EgressJob:
    return failed("Start signal not received", "EG_support01", status=EgressStatus.ABORTED)


def addresses(job: EgressJob) -> list[tuple[str, str]]:
    return [
        ("get", INBOX),
        ("post", reverse("dashboard-job-note", args=[job.pk])),
        ("post", reverse("dashboard-job-triage", args=[job.pk])),
    ]


# --- who may ------------------------------------------------------------------------------------
def test_it_sends_anonymous_visitors_to_the_login_page(client, job):
    for method, address in addresses(job):
        response = getattr(client, method)(address)
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('login')}?next={address}"


@pytest.mark.parametrize("persona", ["outsider", "producer"])
def test_it_refuses_everyone_but_reviewers(client, request, job, persona):
    client.force_login(request.getfixturevalue(persona))
    for method, address in addresses(job):
        assert (
            getattr(client, method)(address, {"text": "hi", "state": "resolved"}).status_code == 403
        )
    assert not JobNote.objects.exists()
    job.refresh_from_db()
    assert job.triage == ""


def test_it_shows_producers_no_support_panel_on_their_job(client, producer):
    job = failed("Start signal not received", "EG_support02", started_by=producer)
    client.force_login(producer)
    words = text_of(client.get(reverse("dashboard-job-detail", args=[job.pk])))
    assert "The recording page never signalled its start" in words
    assert "Add a note" not in words


@pytest.mark.parametrize("method", ["post", "put"])
def test_the_inbox_only_answers_get(client, support, method):
    client.force_login(support)
    assert getattr(client, method)(INBOX).status_code == 405


# --- the inbox ----------------------------------------------------------------------------------
def test_it_groups_what_needs_a_person_by_cause(client, support):
    failed("Start signal not received", "EG_a", status=EgressStatus.ABORTED)
    failed("Start signal not received", "EG_b", status=EgressStatus.ABORTED)
    failed("pipeline frozen", "EG_c")
    failed("gst: element EG_x1 broke", "EG_d")
    failed("gst: element EG_x2 broke", "EG_e")
    failed("", "EG_f", status=EgressStatus.ACTIVE, flag=JobFlag.STUCK_STARTING)
    failed("", "EG_ok", status=EgressStatus.COMPLETE)  # needs no one
    EgressJob.objects.create(kind="web", status="", launch_state=LaunchState.REFUSED)
    client.force_login(support)

    words = text_of(client.get(INBOX))

    causes = words[words.index("Causes") : words.index("Jobs Job Cause")]
    assert "The recording page never signalled its start 2" in causes
    assert "gst: element … broke 2" in causes
    assert "The recording froze while finishing 1" in causes
    assert "Stuck in STARTING 1" in causes
    assert "LiveKit refused to start it 1" in causes
    assert "EG_ok" not in words
    assert "EG_a" in words


def test_it_filters_by_cause_and_explains_it(client, support):
    failed("Start signal not received", "EG_a", status=EgressStatus.ABORTED)
    failed("pipeline frozen", "EG_c")
    client.force_login(support)

    words = text_of(client.get(INBOX, {"cause": "pipeline_frozen"}))

    assert "The output did not finalise within 30 s of the stop" in words
    jobs = words[words.index("Job Cause Status") :]
    assert "EG_c" in jobs
    assert "EG_a" not in jobs


def test_it_shows_what_is_still_open_and_what_was_resolved(client, support, job):
    other = failed("pipeline frozen", "EG_frozen")
    other.triage = Triage.RESOLVED
    other.save()
    client.force_login(support)

    still_open = text_of(client.get(INBOX))
    resolved = text_of(client.get(INBOX, {"show": "resolved"}))

    assert "EG_support01" in still_open
    assert "EG_frozen" not in still_open
    assert "EG_frozen" in resolved
    assert "EG_support01" not in resolved


def test_it_says_when_nothing_needs_a_person(client, support):
    client.force_login(support)
    assert "Nothing needs a person" in text_of(client.get(INBOX))


def test_it_says_when_a_cause_has_no_jobs(client, support):
    failed("pipeline frozen", "EG_c")
    client.force_login(support)

    words = text_of(client.get(INBOX, {"cause": "start_signal"}))

    assert "No open job has this cause." in words
    assert "Job Cause Status" not in words


def test_it_pins_the_query_count_of_the_inbox(client, support, django_assert_num_queries):
    for n in range(30):
        failed(f"gst: element EG_{n} broke", f"EG_many{n}", started_by=support)
    client.force_login(support)
    client.get(INBOX)  # the session and permissions cached like any later page
    with django_assert_num_queries(8):  # session, user, permissions, causes, count, page…
        assert client.get(INBOX).status_code == 200


# --- notes and triage ---------------------------------------------------------------------------
def test_support_adds_a_note_and_reads_it_on_the_job(client, support, job):
    client.force_login(support)
    note = reverse("dashboard-job-note", args=[job.pk])

    response = client.post(note, {"text": "Customer firewall blocks the egress."})

    assert response.status_code == 302
    words = text_of(client.get(reverse("dashboard-job-detail", args=[job.pk])))
    assert "Customer firewall blocks the egress." in words
    assert f"{support.get_username()}," in words
    assert "Note added by sam-support" in words  # the job's timeline
    [entry] = AuditEntry.objects.all()
    assert (entry.action, entry.target_id, entry.outcome) == (AuditAction.NOTED, job.pk, "")


def test_an_empty_note_is_refused_with_the_field_named(client, support, job):
    client.force_login(support)

    response = client.post(reverse("dashboard-job-note", args=[job.pk]), {"text": "   "})

    assert response.status_code == 400
    assert "This field is required." in text_of(response)
    assert not JobNote.objects.exists()


def test_support_acknowledges_resolves_and_reopens_a_failure(client, support, admin, job):
    triage = reverse("dashboard-job-triage", args=[job.pk])
    client.force_login(support)

    client.post(triage, {"state": "acknowledged"})
    job.refresh_from_db()
    assert (job.triage, job.triaged_by) == (Triage.ACKNOWLEDGED, support)

    client.force_login(admin)
    client.post(triage, {"state": "resolved"})
    job.refresh_from_db()
    assert (job.triage, job.triaged_by) == (Triage.RESOLVED, admin)
    assert "This failure is resolved" in text_of(
        client.get(reverse("dashboard-job-detail", args=[job.pk]))
    )

    client.post(triage, {"state": "open"})
    job.refresh_from_db()
    assert (job.triage, job.triaged_by, job.triaged_at) == ("", None, None)
    entries = AuditEntry.objects.filter(target_id=job.pk).order_by("at", "pk")
    assert list(entries.values_list("actor_name", "action", "outcome")) == [
        ("sam-support", AuditAction.TRIAGED, "acknowledged"),
        ("ada-admin", AuditAction.TRIAGED, "resolved"),
        ("ada-admin", AuditAction.TRIAGED, "reopened"),
    ]


def test_a_job_that_needs_no_one_cannot_be_triaged(client, support):
    fine = failed("", "EG_fine", status=EgressStatus.COMPLETE)
    client.force_login(support)

    response = client.post(reverse("dashboard-job-triage", args=[fine.pk]), {"state": "resolved"})

    assert response.status_code == 302
    fine.refresh_from_db()
    assert fine.triage == ""
    follow = text_of(client.get(response["Location"]))
    assert "there is nothing to acknowledge" in follow


def test_a_new_failure_reopens_a_resolved_job(support: User) -> None:
    job = failed("Start signal not received", "EG_again", status=EgressStatus.ABORTED)
    job.triage = Triage.RESOLVED
    job.save()

    job.error, job.status = "pipeline frozen", EgressStatus.FAILED
    job.save(update_fields=["error", "status"])

    job.refresh_from_db()
    assert (job.cause, job.triage) == ("pipeline_frozen", "")
