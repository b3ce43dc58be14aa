"""The audit log, for admins: who changed which profile or destination, newest first."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboard.forms import AuditFilterForm
from egress_app import history
from egress_app.models import AuditEntry
from egress_app.roles import MANAGE_USERS, perm

# The log tells who did what to credentials and destinations: it belongs to the people who
# manage the users themselves, the admins role. There is no separate "view audit" permission.
can_review_audit = permission_required(perm(MANAGE_USERS), raise_exception=True)


def _filtered(filters: dict[str, Any]) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.order_by("-at", "-id")
    for field in ("action", "target_type"):
        if filters.get(field):
            entries = entries.filter(**{field: filters[field]})
    if filters.get("actor"):
        entries = entries.filter(actor_name=filters["actor"])
    return entries.filter(history.days("at", filters.get("since"), filters.get("until")))


@can_review_audit
@require_GET
def audit(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    form.is_valid()  # Filters that do not validate are shown with their error and not applied.
    page = Paginator(_filtered(form.cleaned_data), history.PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {"form": form, "page": page, "filtered": form.filtering}
    return render(request, "dashboard/audit.html", context)
