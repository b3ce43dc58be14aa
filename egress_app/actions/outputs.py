"""What the dashboard found in storage for a job's outputs (a HEAD through the profile's SDK),
kept on the job so the failure catalogue knows an empty or missing output for certain instead
of inferring it from what LiveKit reported (`failures.empty_output`)."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction

from egress_app.models import EgressJob

OBJECTS = "objects"  # job.results[OBJECTS]: {key: size in bytes, None when missing}


def record_output_sizes(job: EgressJob, sizes: Mapping[str, int | None]) -> EgressJob:
    """Keep the sizes found for the job's output keys; saving brings its cause up to date
    (an empty or missing file becomes the empty-output failure, a full one clears it).

    An observation of the store, like the ledger's of LiveKit, not a person's change: not
    audited. The row is locked so a LiveKit update saved meanwhile is not overwritten; a
    later one replaces the results and the next look stores the sizes again."""
    with transaction.atomic():
        locked = EgressJob.objects.select_for_update().get(pk=job.pk)
        results = dict(locked.results or {})
        known = dict(results.get(OBJECTS) or {})
        if all(known.get(key, -1) == size for key, size in sizes.items()):
            return locked
        results[OBJECTS] = known | dict(sizes)
        locked.results = results
        locked.save(update_fields=["results"])
    return locked
