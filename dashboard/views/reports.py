"""The Reports page: what the jobs of a period add up to. For support and admins."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.dateformat import format as format_date
from django.utils.formats import localize
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET

from dashboard.templatetags.reports import percent
from dashboard.views.common import reviews_jobs
from egress_app.reports import PERIODS, Day, build_report, period_days


@reviews_jobs
@require_GET
def reports(request: HttpRequest) -> HttpResponse:
    report = build_report(period_days(request.GET.get("days")))
    days = [DayRow.of(day) for day in report.per_day]
    return render(
        request, "dashboard/reports.html", {"report": report, "days": days, "periods": PERIODS}
    )


@dataclass(frozen=True)
class DayRow:
    """A day of the two per-day tables, formatted once: 90 days make 1,300 cells, where each
    template filter and loop costs (issue 18)."""

    label: str  # "Sat 5 Dec 2026"
    cells: SafeString  # its count per status, each a <td>
    total: str
    finished: str
    failed: str
    failure_percent: str

    @classmethod
    def of(cls, day: Day) -> DayRow:
        cells = format_html_join(
            "", '<td class="number">{}</td>', ((localize(n),) for n in day.counts)
        )
        return cls(
            label=format_date(day.day, "D j M Y"),
            cells=cells,
            total=localize(day.total),
            finished=localize(day.finished),
            failed=localize(day.failed),
            failure_percent=percent(day.failure_percent),
        )
