"""Support's pages: the failure inbox (every job that needs a person, grouped by cause), and a
job's notes and triage. For `view_all_jobs` holders (support and admins) only."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from dashboard.forms import NoteForm
from dashboard.views.common import reviews_jobs
from dashboard.views.jobs import detail_page, get_job_for_user
from egress_app import actions, failures
from egress_app.history import PAGE_SIZE


@reviews_jobs
@require_GET
def failure_inbox(request: HttpRequest) -> HttpResponse:
    shown = request.GET.get("show", "open")
    shown = shown if shown in failures.SHOWN else "open"
    needing = failures.needing_a_person(shown)
    groups = failures.groups(needing)
    cause = request.GET.get("cause", "")
    jobs = needing.filter(cause=cause) if cause else needing
    jobs = jobs.select_related("started_by", "triaged_by").order_by("-created_at", "-pk")
    page = Paginator(jobs, PAGE_SIZE).get_page(request.GET.get("page"))
    context: dict[str, Any] = {
        "groups": groups,
        "selected": next((group for group in groups if group.key == cause), None),
        "cause": cause,
        "shown": shown,
        "shown_choices": failures.SHOWN,
        "page": page,
        "rows": [(job, *failures.described(job.cause)) for job in page.object_list],
    }
    return render(request, "dashboard/failure_inbox.html", context)


@reviews_jobs
@require_POST
def job_note(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_job_for_user(request, pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            actions.add_note(request.user, job, form.cleaned_data["text"])
        except ValidationError as error:
            form.add_action_errors(error)
        else:
            messages.success(request, "Note added.")
            return redirect("dashboard-job-detail", pk=job.pk)
    return detail_page(request, job, status=400, note_form=form)


@reviews_jobs
@require_POST
def job_triage(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_job_for_user(request, pk)
    try:
        job = actions.set_triage(request.user, job, request.POST.get("state", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, f"This failure is now {job.get_triage_display().lower() or 'open'}."
        )
    return redirect("dashboard-job-detail", pk=job.pk)
