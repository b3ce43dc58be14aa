"""Egress jobs: the list, a job's page with its live part, and its controls (stop, layout,
stream outputs). Producers see their own jobs and every active one; `view_all_jobs` sees all.
Who controls which job is `roles.may_control` (the actions check it too)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from csp.constants import SELF
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from dashboard import fragments, outputs
from dashboard.forms import ActionErrorsMixin, JobFilterForm, NoteForm
from dashboard.views.common import csv_lines
from egress_app import actions, history, job_outputs
from egress_app.launch.command import lk_command
from egress_app.launch.config import LAYOUTS
from egress_app.models import EgressJob, StreamDestination
from egress_app.roles import VIEW_ALL_JOBS, may_control, perm

DETAIL = "dashboard-job-detail"

View = Callable[..., HttpResponseBase]


def sees_jobs(view: View) -> View:
    """Producers and reviewers only (anonymous visitors are sent to log in by the middleware)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not fragments.sees_jobs(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def get_job_for_user(request: HttpRequest, pk: int | str) -> EgressJob:
    # Another producer's finished job is not theirs to know about: 404, like a missing one.
    return get_object_or_404(fragments.jobs_for(request.user), pk=pk)


def controls_job(view: Callable[..., HttpResponse]) -> View:
    """A job's control, given the job when this user may stop and change it
    (`roles.may_control`): 403 for a job they see but do not control (another producer's
    running show), whatever the method."""

    @wraps(view)
    def wrapper(request: HttpRequest, pk: int) -> HttpResponse:
        job = get_job_for_user(request, pk)
        if not may_control(request.user, job):
            raise PermissionDenied
        return view(request, job)

    return sees_jobs(wrapper)


# --- summaries ----------------------------------------------------------------------------------
def _shown(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value) and not value.startswith("DEFAULT")
    return value not in (None, False, 0, 0.0, [], {})


def _items(section: Any, skip: tuple[str, ...] = ()) -> list[tuple[str, Any]]:
    if not isinstance(section, dict):
        return []
    return [
        (name.replace("_", " ").capitalize(), value)
        for name, value in section.items()
        if name not in skip and _shown(value)
    ]


def configuration(job: EgressJob) -> list[tuple[str, list[tuple[str, Any]]]]:
    """What the job was asked to do, by section, without a secret (the config holds none)."""
    config, outputs = job.config, job.config.get("outputs") or {}
    sections = [
        ("Source", _items(config.get(job.kind))),
        ("Encoding", _items(config.get("encoding"))),
    ]
    for name in ("file", "segments", "images"):
        if outputs.get(name):
            sections.append((name.capitalize(), _items(outputs[name])))
    return [(title, items) for title, items in sections if items]


# --- forms --------------------------------------------------------------------------------------
class LayoutForm(ActionErrorsMixin, forms.Form):
    layout = forms.ChoiceField(label="Layout", choices=[(name, name) for name in LAYOUTS])


class AddStreamsForm(ActionErrorsMixin, forms.Form):
    destination_ids = forms.TypedMultipleChoiceField(
        label="Saved destinations",
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    adhoc_urls = forms.CharField(
        label="Or a stream URL",
        required=False,
        max_length=2000,
        help_text="rtmp://host/app/stream-key, rtmps://…, srt://…; it is never shown again whole.",
    )

    def __init__(self, *args: Any, job: EgressJob, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        used = list(job.destinations.values_list("pk", flat=True))
        unused = StreamDestination.objects.exclude(pk__in=used).order_by("name")
        field: Any = self.fields["destination_ids"]
        field.choices = [(d.pk, d.name) for d in unused]


def _controls(job: EgressJob, **forms_given: forms.Form) -> dict[str, Any]:
    layout = (job.config.get("room_composite") or {}).get("layout") or "grid"
    return {
        "layout_form": LayoutForm(initial={"layout": layout}),
        "streams_form": AddStreamsForm(job=job) if job.can_update_stream else None,
        **forms_given,
    }


def detail_page(
    request: HttpRequest, job: EgressJob, *, status: int = 200, **extra: Any
) -> HttpResponse:
    context = fragments.live_context(job) | {"configuration": configuration(job)}
    context |= _controls(job, **{k: v for k, v in extra.items() if isinstance(v, forms.Form)})
    context |= {k: v for k, v in extra.items() if not isinstance(v, forms.Form)}
    context |= fragments.retry_context(request.user, job)
    context["may_control"] = may_control(request.user, job)
    context["lk"] = lk_command(job)
    context["shared_control"] = settings.EGRESS_PRODUCERS_SHARE_CONTROL
    if request.user.has_perm(perm(VIEW_ALL_JOBS)):  # support's notes and triage
        context.setdefault("note_form", NoteForm())
        context["notes"] = job.notes.select_related("author")
    context["has_outputs"] = bool(job_outputs.outputs(job)) and not job.is_active
    response = render(request, "dashboard/job_detail.html", context, status=status)
    return media_policy(response, job)


def media_policy(response: HttpResponse, job: EgressJob) -> HttpResponse:
    """Let the page play, fetch and show the job's outputs from its store: the dashboard's
    links redirect there, and the Content-Security-Policy applies to where they lead. hls.js
    plays through Media Source Extensions (a blob: URL)."""
    origin = outputs.media_origin(job)
    media = [origin] if origin else []
    response._csp_update = {  # type: ignore[attr-defined]  # read by django-csp's middleware
        "media-src": [SELF, "blob:", *media],
        "img-src": media,
        "connect-src": media,
    }
    return response


# --- the list -----------------------------------------------------------------------------------
@sees_jobs
@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "dashboard/job_list.html", fragments.jobs_page(request.user, request.GET)
    )


@sees_jobs
@require_GET
def job_rows(request: HttpRequest) -> HttpResponse:
    """The list's table body, polled while no websocket pushes it (the reconciler and the
    webhooks keep the jobs current; a poll only reads them)."""
    context = fragments.jobs_page(request.user, request.GET)
    return render(request, fragments.ROWS, context)


@sees_jobs
@require_GET
def job_export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered list as CSV, every matching job in the list's order, streamed as it is
    read (under ASGI)."""
    form = JobFilterForm(request.GET, people=request.user.has_perm(perm(VIEW_ALL_JOBS)))
    form.is_valid()
    jobs = history.filtered(fragments.jobs_for(request.user), form.cleaned_data)
    lines = csv_lines(history.CSV_HEADER, history.export_rows(jobs, form.order))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    name = f"egress-jobs-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- a job --------------------------------------------------------------------------------------
@sees_jobs
@require_GET
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return detail_page(request, get_job_for_user(request, pk))


@sees_jobs
@require_GET
def job_live(request: HttpRequest, pk: int) -> HttpResponse:
    """The job's live part, polled while it may change; the last answer stops the polling."""
    job = get_job_for_user(request, pk)
    context = fragments.live_context(job)
    if context["polls"]:
        return render(request, fragments.LIVE, context)
    return HttpResponseStopPolling(render_to_string(fragments.LIVE, context, request))


@sees_jobs
@require_GET
def job_header(request: HttpRequest, pk: int) -> HttpResponse:
    """The job page's Retry, Clone and edit and chain of retries, asked for again by the page
    when its job ends (they depend on who asks, so a push cannot carry them); it also clears
    the flash above them, which spoke of the job as it was."""
    job = get_job_for_user(request, pk)
    context = {"job": job, "polls": fragments.polls(job), "refreshed": True}
    return render(request, fragments.HEADER, context | fragments.retry_context(request.user, job))


def _refused(request: HttpRequest, error: actions.JobError) -> HttpResponse:
    return detail_page(request, error.job, status=409, job_error=error)


@controls_job
def job_stop(request: HttpRequest, job: EgressJob) -> HttpResponse:
    if request.method != "POST":
        return render(request, "dashboard/job_confirm.html", {"job": job, "action": "stop"})
    try:
        job = actions.stop_egress(request.user, job)
    except actions.JobError as error:
        return _refused(request, error)
    # Not its status: the job's badge says that, and it may have ended by the time the page shows.
    messages.success(request, f"Asked LiveKit to stop {job.egress_id}.")
    return redirect(DETAIL, pk=job.pk)


@controls_job
@require_POST
def job_layout(request: HttpRequest, job: EgressJob) -> HttpResponse:
    form = LayoutForm(request.POST)
    if form.is_valid():
        try:
            actions.update_layout(request.user, job, form.cleaned_data["layout"])
        except actions.JobError as error:
            return _refused(request, error)
        except ValidationError as error:
            form.add_action_errors(error)
        else:
            messages.success(request, f"Layout changed to {form.cleaned_data['layout']}.")
            return redirect(DETAIL, pk=job.pk)
    return detail_page(request, job, status=400, layout_form=form)


@controls_job
@require_POST
def job_streams_add(request: HttpRequest, job: EgressJob) -> HttpResponse:
    form = AddStreamsForm(request.POST, job=job)
    if form.is_valid():
        try:
            actions.add_stream_outputs(
                request.user,
                job,
                destination_ids=form.cleaned_data["destination_ids"],
                adhoc_urls=[form.cleaned_data["adhoc_urls"]],
            )
        except actions.JobError as error:
            return _refused(request, error)
        except ValidationError as error:
            form.add_action_errors(error)
        else:
            messages.success(request, "Stream outputs added.")
            return redirect(DETAIL, pk=job.pk)
    return detail_page(request, job, status=400, streams_form=form)


@controls_job
def job_streams_remove(request: HttpRequest, job: EgressJob) -> HttpResponse:
    output = request.POST.get("output") or request.GET.get("output", "")
    label = dict(job.stream_outputs()).get(output)
    context = {"job": job, "action": "remove", "output": output, "label": label}
    if request.method != "POST" or label is None:
        return render(request, "dashboard/job_confirm.html", context, status=200 if label else 404)
    try:
        actions.remove_stream_output(request.user, job, output=output)
    except actions.JobError as error:
        return _refused(request, error)
    except ValidationError as error:
        return detail_page(request, job, status=400, job_error=error.messages[0])
    messages.success(request, f"Stopped streaming to {label}.")
    return redirect(DETAIL, pk=job.pk)
