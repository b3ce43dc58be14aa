"""Retry: start a finished job again with the same configuration, as a new job linked to it.

Support and admins retry any job, producers the jobs they started (`roles.may_retry`). Clone and
edit is the launch form opened with `?clone=<job>`; the job it starts is linked the same way.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from dashboard.views.jobs import DETAIL, detail_page, get_job_for_user, sees_jobs
from egress_app import actions
from egress_app.roles import may_retry


@sees_jobs
@require_POST
def job_retry(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_job_for_user(request, pk)
    if not may_retry(request.user, job):
        raise PermissionDenied
    token = request.POST.get("launch_token", "")
    try:
        retry = actions.retry_egress(request.user, job, launch_token=token)
    except ValidationError as error:
        return detail_page(request, job, status=400, job_error=" ".join(error.messages))
    except actions.LaunchError as error:
        retry = error.job  # its page shows LiveKit's refusal, as after a launch
    else:
        messages.success(request, f"Started job {job.pk} again as job {retry.pk}.")
    return redirect(DETAIL, pk=retry.pk)
