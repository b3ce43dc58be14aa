"""Jobs through the API: the history's list (its filters and keyset pages), a job with its
results and signed download links, and a running job's controls. The pages' rules hold:
who sees which job (`fragments.jobs_for`), who controls it (`roles.may_control`)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.urls import reverse
from ninja import Query, Router

from dashboard import fragments, outputs
from dashboard.api import schemas
from dashboard.api.auth import via
from dashboard.api.errors import ERRORS
from dashboard.forms import JobFilterForm
from dashboard.views.jobs import get_job_for_user
from egress_app import actions, history, job_outputs
from egress_app.actions.egress import NOT_YOURS
from egress_app.job_outputs import NoStore
from egress_app.models import EgressJob
from egress_app.roles import VIEW_ALL_JOBS, may_control, perm
from egress_app.storage.objects import ObjectError, Store

router = Router(tags=["jobs"])
SEES_JOBS = "Your role does not see jobs."
PAGE_SIZE = 50


def _sees_jobs(request: HttpRequest) -> None:
    if not fragments.sees_jobs(request.user):
        raise PermissionDenied(SEES_JOBS)


def _job(request: HttpRequest, pk: int) -> EgressJob:
    _sees_jobs(request)
    return get_job_for_user(request, pk)


def _controlled(request: HttpRequest, pk: int) -> EgressJob:
    job = _job(request, pk)
    if not may_control(request.user, job):
        raise PermissionDenied(NOT_YOURS)
    return job


def job_out(request: HttpRequest, job: EgressJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "url": request.build_absolute_uri(reverse("dashboard-job-detail", args=[job.pk])),
        "egress_id": job.egress_id,
        "kind": job.kind,
        "room_name": job.room_name,
        "status": job.status or job.launch_state,
        "status_label": job.status_label,
        "launch_state": job.launch_state,
        "started_by": job.started_by.get_username() if job.started_by else None,
        "external": job.external,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "ended_at": job.ended_at,
        "error": job.error,
        "error_code": job.error_code,
        "details": job.details,
        "retry_of": job.retry_of_id,
        "stream_outputs": [{"output": o, "label": label} for o, label in job.stream_outputs()],
    }


def _detail(request: HttpRequest, job: EgressJob) -> dict[str, Any]:
    shown, why = _outputs(job)
    extra = {"config": job.config, "results": job.results, "outputs": shown, "outputs_error": why}
    return job_out(request, job) | extra


def _outputs(job: EgressJob) -> tuple[list[dict[str, Any]], str]:
    found = job_outputs.outputs(job)
    if not found or job.is_active:
        return [_output(o) for o in found], ""
    try:
        store = job_outputs.store(job)
    except NoStore as reason:
        return [_output(o) for o in found], str(reason)
    return [_output(o, store) for o in found], ""


def _output(output: job_outputs.Output, store: Store | None = None) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "kind": output.kind,
        "n": output.n,
        "name": output.name,
        "key": output.key,
        "size": output.reported_size,
    }
    if store is not None and output.kind != "images":  # an image series is a prefix
        try:
            shown["download_url"] = outputs.signed(store, output.key, download=True)
        except ObjectError as error:
            shown["error"] = str(error)
    return shown


def _messages(form: JobFilterForm) -> dict[str, str]:
    return {name: " ".join(str(text) for text in texts) for name, texts in form.errors.items()}


@router.get("/jobs", response={200: schemas.JobPage, **dict.fromkeys(ERRORS, schemas.Problem)})
def list_jobs(request: HttpRequest, filters: Query[schemas.JobFilters]) -> dict[str, Any]:
    """The jobs this token's user sees, filtered and ordered as on the Jobs page, 50 a page."""
    _sees_jobs(request)
    form = JobFilterForm(request.GET, people=request.user.has_perm(perm(VIEW_ALL_JOBS)))
    if not form.is_valid():
        raise ValidationError(_messages(form))
    sort = form.order
    jobs = history.filtered(fragments.jobs_for(request.user), form.cleaned_data)
    page = history.page(jobs, sort, after=form.cursor("after"), before=form.cursor("before"))
    return {
        "jobs": [job_out(request, job) for job in page.rows],
        "next": str(page.older) if page.older else None,
        "previous": str(page.newer) if page.newer else None,
    }


@router.get(
    "/jobs/{job_id}",
    response={200: schemas.JobDetail, **dict.fromkeys(ERRORS, schemas.Problem)},
)
def get_job(request: HttpRequest, job_id: int) -> dict[str, Any]:
    """A job with its configuration, LiveKit's results and a signed link to each output."""
    return _detail(request, _job(request, job_id))


@router.post(
    "/jobs/{job_id}/stop", response={200: schemas.Job, **dict.fromkeys(ERRORS, schemas.Problem)}
)
def stop_job(request: HttpRequest, job_id: int) -> dict[str, Any]:
    """Ask LiveKit to stop the egress (the job's owner or an admin; producers share control
    only with EGRESS_PRODUCERS_SHARE_CONTROL)."""
    job = _controlled(request, job_id)
    with actions.acting_via(via(request)):
        return job_out(request, actions.stop_egress(request.user, job))


@router.post(
    "/jobs/{job_id}/layout",
    response={200: schemas.Job, **dict.fromkeys(ERRORS, schemas.Problem)},
)
def update_layout(request: HttpRequest, job_id: int, body: schemas.Layout) -> dict[str, Any]:
    """Change a running room composite's (or web template's) layout."""
    job = _controlled(request, job_id)
    with actions.acting_via(via(request)):
        return job_out(request, actions.update_layout(request.user, job, body.layout))


@router.post(
    "/jobs/{job_id}/streams",
    response={200: schemas.Job, **dict.fromkeys(ERRORS, schemas.Problem)},
)
def add_streams(request: HttpRequest, job_id: int, body: schemas.StreamsAdd) -> dict[str, Any]:
    """Add saved destinations and/or ad-hoc stream URLs to a running stream."""
    job = _controlled(request, job_id)
    with actions.acting_via(via(request)):
        job = actions.add_stream_outputs(
            request.user, job, destination_ids=body.destination_ids, adhoc_urls=body.adhoc_urls
        )
    return job_out(request, job)


@router.post(
    "/jobs/{job_id}/streams/remove",
    response={200: schemas.Job, **dict.fromkeys(ERRORS, schemas.Problem)},
)
def remove_stream(request: HttpRequest, job_id: int, body: schemas.StreamRemove) -> dict[str, Any]:
    """Stop streaming to one output (`destination:<id>` or `adhoc:<n>`, from `stream_outputs`)."""
    job = _controlled(request, job_id)
    with actions.acting_via(via(request)):
        return job_out(request, actions.remove_stream_output(request.user, job, output=body.output))
