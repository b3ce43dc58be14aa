"""The audit log: who did what to which job, recipe, profile or destination, newest first.
Admins read all of it; support reads the job entries (who started, stopped or changed a show)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboard.forms import AuditFilterForm
from egress_app import history
from egress_app.models import AuditEntry, AuditTarget
from egress_app.roles import MANAGE_USERS, VIEW_ALL_JOBS, perm


def readable_targets(user: AbstractUser | AnonymousUser) -> list[AuditTarget]:
    """The kinds of entries `user` may read. The vault's tell who did what to credentials:
    they belong to the people who manage the users themselves, the admins role (there is no
    separate "view audit" permission). Reviewers of every job (support) read the jobs'."""
    if user.has_perm(perm(MANAGE_USERS)):
        return list(AuditTarget)
    if user.has_perm(perm(VIEW_ALL_JOBS)):
        return [AuditTarget.JOB]
    raise PermissionDenied


def _filtered(targets: list[AuditTarget], filters: dict[str, Any]) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.filter(target_type__in=targets).order_by("-at", "-id")
    for field in ("action", "target_type"):
        if filters.get(field):
            entries = entries.filter(**{field: filters[field]})
    if filters.get("actor"):
        entries = entries.filter(actor_name=filters["actor"])
    return entries.filter(history.days("at", filters.get("since"), filters.get("until")))


@require_GET
def audit(request: HttpRequest) -> HttpResponse:
    targets = readable_targets(request.user)
    form = AuditFilterForm(request.GET, targets=targets)
    form.is_valid()  # Filters that do not validate are shown with their error and not applied.
    page = Paginator(_filtered(targets, form.cleaned_data), history.PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    jobs_only = targets == [AuditTarget.JOB]
    context = {"form": form, "page": page, "filtered": form.filtering, "jobs_only": jobs_only}
    return render(request, "dashboard/audit.html", context)
