"""A launch's maximum duration, kept by the worker: a running job past its `stop_after` (set on
the launch form, by a recipe or by a rule, see egress_app/launch/stop_after.py) is stopped
with StopEgress, audited as stopped by the limit.

The reconciler calls `stop_at_limit` for each job it has claimed, so several workers never
stop the same job twice; a StopEgress LiveKit refuses is kept on the job (as a person's would
be) and tried again on the next pass while the egress still runs.
"""

from __future__ import annotations

import logging

from django.utils import timezone

from egress_app import limits
from egress_app.actions.calls import JobError
from egress_app.actions.egress import _stop
from egress_app.launch.stop_after import clock
from egress_app.models import EgressJob

logger = logging.getLogger(__name__)


def is_past_limit(job: EgressJob) -> bool:
    """Whether the running job has run for its `stop_after` or longer."""
    length = limits.stop_after(job)
    if length is None or job.started_at is None or not job.can_stop:
        return False
    return timezone.now() >= job.started_at + length


def stop_at_limit(job: EgressJob) -> int:
    """StopEgress for a job past its maximum duration; 1 when LiveKit took the stop."""
    length = limits.stop_after(job)
    if length is None or not is_past_limit(job):
        return 0
    outcome = f"Stopped after {clock(length.total_seconds())}, the limit set at launch"
    try:
        _stop(None, job, outcome=outcome)
    except JobError as error:
        logger.warning("Job %s could not be stopped at its limit: %s", job.pk, error)
        return 0
    logger.info("Job %s (%s): %s", job.pk, job.egress_id, outcome)
    return 1
