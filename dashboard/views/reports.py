"""The Reports page: what the jobs of a period add up to. For support and admins."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboard.views.common import reviews_jobs
from egress_app.reports import PERIODS, build_report, period_days


@reviews_jobs
@require_GET
def reports(request: HttpRequest) -> HttpResponse:
    report = build_report(period_days(request.GET.get("days")))
    return render(request, "dashboard/reports.html", {"report": report, "periods": PERIODS})
