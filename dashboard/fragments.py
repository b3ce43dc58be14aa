"""The live pieces of the pages, each one template with three callers: the full page, the htmx
endpoint that polls it, and the websocket push (rendered once here, `hx-swap-oob`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.db.models import Q, QuerySet, prefetch_related_objects
from django.http import QueryDict
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from dashboard.forms import JobFilterForm
from dashboard.launch_forms import fresh_token
from egress_app import failures, history, limits
from egress_app.launch import stop_after
from egress_app.models import (
    AuditEntry,
    AuditTarget,
    EgressJob,
    EgressKind,
    JobFlag,
    LaunchState,
    LedgerEntry,
)
from egress_app.roles import CONTROL_EGRESS, LAUNCH_EGRESS, VIEW_ALL_JOBS, may_retry, perm

ROWS = "dashboard/job_list.html#rows"

ROW = "dashboard/job_list.html#row"
# What the list's rows never show (the job's page does).
LIST_UNREAD = ("info", "results", "encrypted_secrets", "error", "details", "storage_profile")
LIVE = "dashboard/job_detail.html#live"
HEADER = "dashboard/job_detail.html#header"
WITHHELD = "dashboard/job_detail.html#withheld"


JOB_PERMS = (perm(VIEW_ALL_JOBS), perm(LAUNCH_EGRESS), perm(CONTROL_EGRESS))


def sees_jobs(user: AbstractUser | AnonymousUser) -> bool:
    """Producers and reviewers see jobs; other signed-in users do not."""
    return any(user.has_perm(name) for name in JOB_PERMS)


def jobs_for(user: AbstractUser | AnonymousUser) -> QuerySet[EgressJob]:
    """The jobs a user may see: all with `view_all_jobs`, else their own and every active one."""
    jobs = EgressJob.objects.select_related("started_by", "storage_profile")
    jobs = jobs.prefetch_related("destinations").order_by("-created_at", "-pk")
    if user.has_perm(perm(VIEW_ALL_JOBS)):
        return jobs
    return jobs.filter(Q(started_by__pk=user.pk) | Q(status__in=EgressJob.ACTIVE_STATUSES))


def jobs_page(user: AbstractUser | AnonymousUser, query: QueryDict) -> dict[str, Any]:
    """The context of the list: the filters, one keyset page of the user's jobs that match
    them, and the URL polling that page."""
    form = JobFilterForm(query, people=user.has_perm(perm(VIEW_ALL_JOBS)))
    form.is_valid()  # filters that do not validate are shown with their error and not applied
    jobs = history.filtered(jobs_for(user), form.cleaned_data)
    # A row shows none of LiveKit's documents or texts: not read (and decoded) for 50 rows.
    jobs = jobs.select_related(None).select_related("started_by").defer(*LIST_UNREAD)
    jobs = jobs.prefetch_related(None)  # the few rows that show their streams read them below
    sort = form.order
    page = history.page(jobs, sort, after=form.cursor("after"), before=form.cursor("before"))
    rows = list_rows(page.rows)
    url = reverse("dashboard-job-rows") + (f"?{query.urlencode()}" if query else "")
    # New jobs are pushed onto the top of the plain list only: a filtered or re-ordered one
    # may not show them there (its next poll says).
    tops = page.is_first and not form.changes_the_list
    return {"form": form, "page": page, "rows": rows, "rows_url": url, "takes_new_rows": tops}


def job_rows(user: AbstractUser | AnonymousUser, query: QueryDict) -> str:
    """The list's rows for a push (a snapshot when a socket connects)."""
    return render_to_string(ROWS, jobs_page(user, query) | {"oob": True})


@dataclass(frozen=True)
class ListRow:
    """A job as the list's row shows it, formatted once here: a page renders 50 rows, where
    each template filter, `{% url %}` and model method called per row adds up (issue 18)."""

    pk: int
    status: str
    status_class: str  # the badge's class: the status, slugified
    flag: str  # the reconciler's flag, as shown; blank when none
    kind: str
    external: bool
    rule_url: str  # the room rule that started it, on the Rules page; blank when none
    room: str
    url: str  # the job's page
    egress_id: str
    started_by: str
    started_iso: str  # when it started, ISO 8601 in TIME_ZONE; blank when not yet
    started: str  # the same as shown: "2026-12-05 14:02:11 UTC"
    outputs: str


KIND_LABELS = dict(EgressKind.choices)
FLAG_LABELS = dict(JobFlag.choices)


@cache
def _status_class(label: str) -> str:
    return slugify(label)


@dataclass(frozen=True)
class _Links:
    """The URLs the rows link to, reversed once a page: a job's page, the Rules page."""

    job: tuple[str, str]  # the job page's URL before and after its pk
    rules: str

    @classmethod
    def now(cls) -> _Links:
        sample = 987654321
        before, _, after = reverse("dashboard-job-detail", args=[sample]).partition(str(sample))
        return cls((before, after), reverse("dashboard-rule-list"))


def list_row(job: EgressJob, links: _Links | None = None) -> ListRow:
    links = links or _Links.now()
    started = timezone.localtime(job.started_at) if job.started_at else None
    status = job.status_label
    username = job.started_by.get_username() if job.started_by_id and job.started_by else ""
    return ListRow(
        pk=job.pk,
        status=status,
        status_class=_status_class(status),
        flag=FLAG_LABELS.get(job.flag, job.flag) if job.flag else "",
        kind=KIND_LABELS.get(job.kind, job.kind),
        external=job.external,
        rule_url=f"{links.rules}#rule-{job.room_rule_id}" if job.room_rule_id else "",
        room=job.room_name or "\N{EN DASH}",
        url=f"{links.job[0]}{job.pk}{links.job[1]}",
        egress_id=job.egress_id or "",
        started_by=username or "\N{EN DASH}",
        started_iso=started.isoformat() if started else "",
        started=f"{started:%Y-%m-%d %H:%M:%S} {started.tzname()}" if started else "",
        outputs=outputs_summary(job),
    )


def list_rows(jobs: list[EgressJob]) -> list[ListRow]:
    """The rows of a page of the list: the streams read only for the jobs that show them."""
    streaming = [job for job in jobs if counts_streams(job)]
    if streaming:
        prefetch_related_objects(streaming, "destinations")
    links = _Links.now()
    return [list_row(job, links) for job in jobs]


def polls(job: EgressJob) -> bool:
    """Whether the job may still change: an egress running or a launch still waiting."""
    return job.is_active or job.launch_state == LaunchState.LAUNCHING


def counts_streams(job: EgressJob) -> bool:
    """Whether the job's row counts its stream outputs (reading its destinations)."""
    return (job.config.get("outputs") or {}).get("stream") is not None or bool(job.adhoc_outputs)


def outputs_summary(job: EgressJob) -> str:
    outputs = job.config.get("outputs") or {}
    parts = []
    if file := outputs.get("file"):
        file_type = str(file.get("file_type") or "")
        parts.append("File" if file_type.startswith("DEFAULT") or not file_type else file_type)
    if counts_streams(job):
        count = len(job.stream_outputs())
        parts.append(f"{count} stream{'s' if count != 1 else ''}")
    if outputs.get("segments"):
        parts.append("HLS segments")
    if outputs.get("images"):
        parts.append("Images")
    if (job.config.get("track") or {}).get("websocket_url"):
        parts.append("WebSocket")
    if not parts and job.external:
        parts.append("Started outside the dashboard")
    return " · ".join(parts) or "\N{EN DASH}"


def _whole_seconds(length: timedelta) -> timedelta:
    return timedelta(seconds=max(0, round(length.total_seconds())))


def duration(job: EgressJob) -> timedelta | None:
    """How long the egress ran, or has run so far while it runs (LiveKit sends no news while
    an egress runs well: its last update is not when it stopped)."""
    if job.started_at is None:
        return None
    end = job.ended_at or (timezone.now() if job.is_active else job.updated_at)
    if end is None or end < job.started_at:
        return None
    return _whole_seconds(end - job.started_at)


@dataclass(frozen=True)
class TimeLeft:
    """A running job's time until LiveKit ends it (`limit`: its length, of file or stream)."""

    left: timedelta
    limit: limits.TimeLimit

    @property
    def limit_hours(self) -> str:
        return f"{self.limit.length.total_seconds() / 3600:g} h"

    @property
    def limit_clock(self) -> str:
        return stop_after.clock(self.limit.length.total_seconds())


def time_left(job: EgressJob) -> TimeLeft | None:
    limit = limits.time_limit(job) if job.is_active and job.started_at else None
    if limit is None or job.started_at is None:
        return None
    return TimeLeft(_whole_seconds(limit.ends_at(job.started_at) - timezone.now()), limit)


def live_context(job: EgressJob) -> dict[str, Any]:
    # The outputs go along: a final answer swaps the controls (and their list) out of band.
    context = {"job": job, "polls": polls(job), "duration": duration(job)}
    context["time_left"] = time_left(job)
    context |= {"diagnosis": failures.diagnose(job), "timeline": timeline(job)}
    return context | {"outputs": job.stream_outputs(), "info_json": info_json(job)}


TIMELINE_LENGTH = 500  # entries of each kind shown on a job's page, the oldest first


@dataclass(frozen=True)
class Moment:
    """One line of a job's timeline: what LiveKit told (`heard`) or what a person did (`done`)."""

    at: datetime
    heard: LedgerEntry | None = None
    done: AuditEntry | None = None


def timeline(job: EgressJob) -> list[Moment]:
    """What LiveKit told the dashboard about the job (webhooks, the reconciler's observations
    and flags, LiveKit's answers to the dashboard's calls) and who started, stopped, changed or
    triaged it, in the order it came."""
    if job.pk is None:
        return []
    heard = LedgerEntry.objects.filter(job=job).order_by("received_at", "pk")
    done = AuditEntry.objects.filter(target_type=AuditTarget.JOB, target_id=job.pk)
    moments = [
        Moment(entry.received_at, heard=entry)
        for entry in heard.only(*TIMELINE_FIELDS)[:TIMELINE_LENGTH]
    ]
    moments += [
        Moment(entry.at, done=entry) for entry in done.order_by("at", "pk")[:TIMELINE_LENGTH]
    ]
    # A person's request comes before LiveKit's answer to it, written in the same instant.
    return sorted(moments, key=lambda moment: (moment.at, moment.heard is not None))


TIMELINE_FIELDS = ("source", "outcome", "event", "status", "reason", "received_at", "job_id")


def info_json(job: EgressJob) -> str:
    """LiveKit's last EgressInfo as the job keeps it (credentials and stream keys removed)."""
    return json.dumps(job.info, indent=2, sort_keys=True) if job.info else ""


def job_row(job: EgressJob, *, created: bool = False) -> str:
    """The job's row for a push: replaces the row shown, or (`created`) tops a first page."""
    return render_to_string(ROW, {"row": list_row(job), "oob": True, "created": created})


def job_live(job: EgressJob) -> str:
    """The job page's live part for a push (and its controls, once the job has ended)."""
    return render_to_string(LIVE, live_context(job) | {"oob": True})


def job_withheld() -> str:
    """What replaces the live part of a job the viewer may no longer see (another producer's,
    ended while they watched it run)."""
    return render_to_string(WITHHELD)


def home_refresh() -> str:
    """Tells a home page to reload its live part now (it comes from LiveKit, not the database).
    A newer reload replaces one still in flight, so an older answer never lands last."""
    url = reverse("dashboard-home-live")
    return (
        f'<div id="live-refresh" hidden hx-swap-oob="true" hx-get="{url}" hx-trigger="load"'
        ' hx-target="#live" hx-sync="#live:replace" hx-indicator="#live-indicator"></div>'
    )


def retry_context(user: AbstractUser | AnonymousUser, job: EgressJob) -> dict[str, Any]:
    """The job page's Retry form (its launch token, fresh on each render: a double submit
    starts one egress), Clone and edit, and the links along the chain of retries, each as
    (job id, whether this user may open that job)."""
    retries = list(job.retries.order_by("created_at", "pk").values_list("pk", flat=True))
    linked = [pk for pk in (job.retry_of_id, *retries) if pk is not None]
    jobs = jobs_for(user).prefetch_related(None)
    visible = set(jobs.filter(pk__in=linked).values_list("pk", flat=True)) if linked else set()
    return {
        "retry_token": fresh_token() if job.can_retry and may_retry(user, job) else "",
        "may_clone": job.launched_here and user.has_perm(perm(LAUNCH_EGRESS)),
        "retry_of": (job.retry_of_id, job.retry_of_id in visible) if job.retry_of_id else None,
        "retries": [(pk, pk in visible) for pk in retries],
    }
