"""What the Reports page sums, kept per calendar day once the day is over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import models


class ReportDay(models.Model):
    """The jobs created on one past day (a calendar day in `zone`) of one status bucket and
    kind: how many, and the minutes of those that ended (egress_app.reports). A row with a
    blank bucket and kind marks the day as counted, jobs or none.

    Rows are a cache of the jobs: the report makes a day's rows the first time it shows the
    day after it is over, and saving an older job (`EgressJob.save`) drops the rows of its
    days, so the next report counts them again from the jobs."""

    zone = models.CharField(max_length=64)
    day = models.DateField()
    bucket = models.CharField(max_length=32, blank=True)
    kind = models.CharField(max_length=32, blank=True)
    jobs = models.PositiveIntegerField(default=0)
    recorded = models.DurationField(null=True, blank=True)
    streamed = models.DurationField(null=True, blank=True)

    class Meta:
        # Saving an older job drops rows by day, whatever the zone.
        indexes = [models.Index(fields=["day"], name="egress_report_day_day")]
        constraints = [
            models.UniqueConstraint(
                fields=["zone", "day", "bucket", "kind"], name="egress_report_day_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} ({self.zone}) {self.bucket or 'counted'} {self.kind}"


def forget_days_of(created_at: datetime) -> None:
    """Drop the rows of every day a job created at `created_at` may belong to, in any zone
    (a zone is at most 14 hours from UTC)."""
    day = created_at.astimezone(UTC).date()
    ReportDay.objects.filter(day__range=(day - timedelta(days=1), day + timedelta(days=1))).delete()
