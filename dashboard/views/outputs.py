"""A finished job's outputs: the page's outputs part (asked for lazily: it asks the store),
Play and Download, an HLS playlist and any one object of the job (a segment, a thumbnail).
Whoever may see the job may use them (`jobs.get_job_for_user`, checked on every request);
each answers with a redirect to a URL signed then, `SIGNED_URL_SECONDS` long."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboard import outputs
from dashboard.views.jobs import get_job_for_user, sees_jobs
from egress_app import job_outputs
from egress_app.job_outputs import NoStore, Output
from egress_app.models import EgressJob
from egress_app.storage.objects import ObjectError, Store

UNAVAILABLE = "dashboard/output_unavailable.html"


@sees_jobs
@require_GET
def job_outputs_part(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_job_for_user(request, pk)
    return render(request, "dashboard/partials/job_outputs.html", outputs.shown_outputs(job))


@sees_jobs
@require_GET
def output_play(request: HttpRequest, pk: int, n: int) -> HttpResponse:
    return _to_file(request, pk, n, download=False)


@sees_jobs
@require_GET
def output_download(request: HttpRequest, pk: int, n: int) -> HttpResponse:
    return _to_file(request, pk, n, download=True)


@sees_jobs
@require_GET
def segments_playlist(request: HttpRequest, pk: int, n: int) -> HttpResponse:
    job, output = _output(request, pk, "segments", n)
    try:
        text = outputs.playlist(job, _store(job), output)
    except (NoStore, ObjectError) as error:
        return _unavailable(request, job, error)
    response = HttpResponse(text, content_type="application/vnd.apple.mpegurl")
    response["Cache-Control"] = "private, no-store"
    return response


@sees_jobs
@require_GET
def job_object(request: HttpRequest, pk: int, token: str) -> HttpResponse:
    job = get_job_for_user(request, pk)
    key = outputs.object_key(job, token)
    if key is None:
        raise Http404("No such output.")
    return _redirect(request, job, key, download=False)


def _to_file(request: HttpRequest, pk: int, n: int, *, download: bool) -> HttpResponse:
    job, output = _output(request, pk, "file", n)
    return _redirect(request, job, output.key, download=download)


def _output(request: HttpRequest, pk: int, kind: str, n: int) -> tuple[EgressJob, Output]:
    job = get_job_for_user(request, pk)
    output = job_outputs.output(job, kind, n)
    if output is None:
        raise Http404("No such output.")
    return job, output


def _store(job: EgressJob) -> Store:
    return job_outputs.store(job)


def _redirect(request: HttpRequest, job: EgressJob, key: str, *, download: bool) -> HttpResponse:
    try:
        url = outputs.signed(_store(job), key, download=download)
    except (NoStore, ObjectError) as error:
        return _unavailable(request, job, error)
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "private, no-store"  # the next request signs afresh
    return response


def _unavailable(request: HttpRequest, job: EgressJob, error: Exception) -> HttpResponse:
    status = 409 if isinstance(error, NoStore) else 502
    return render(request, UNAVAILABLE, {"job": job, "reason": str(error)}, status=status)
