"""Retry: start a finished job again with the same configuration, as a new job linked to it.

Support and admins retry any job, producers the jobs they started (`roles.may_retry`). Clone and
edit is the launch form opened with `?clone=<job>`; the job it starts is linked the same way.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from dashboard import fragments
from dashboard.launch_forms import fresh_token
from dashboard.views.jobs import DETAIL, detail_page, get_job_for_user, sees_jobs
from egress_app import actions
from egress_app.models import EgressJob
from egress_app.roles import LAUNCH_EGRESS, may_retry, perm


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


def retry_context(user: AbstractUser | AnonymousUser, job: EgressJob) -> dict[str, Any]:
    """The job page's Retry form (its launch token, fresh on each render: a double submit
    starts one egress), Clone and edit, and the links along the chain of retries, each as
    (job id, whether this user may open that job)."""
    retries = list(job.retries.order_by("created_at", "pk").values_list("pk", flat=True))
    linked = [pk for pk in (job.retry_of_id, *retries) if pk is not None]
    jobs = fragments.jobs_for(user).prefetch_related(None)
    visible = set(jobs.filter(pk__in=linked).values_list("pk", flat=True)) if linked else set()
    return {
        "retry_token": fresh_token() if job.can_retry and may_retry(user, job) else "",
        "may_clone": _has_config(job) and user.has_perm(perm(LAUNCH_EGRESS)),
        "retry_of": (job.retry_of_id, job.retry_of_id in visible) if job.retry_of_id else None,
        "retries": [(pk, pk in visible) for pk in retries],
    }


def _has_config(job: EgressJob) -> bool:
    return not job.external and bool(job.config)
