"""`LedgerEntry.insert_all` (COPY on PostgreSQL, INSERTs elsewhere): what goes in comes back
as it was, whatever the text holds, and a batch that breaks a constraint leaves nothing."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from egress_app.models import LedgerEntry, LedgerOutcome, LedgerSource

pytestmark = pytest.mark.django_db

AWKWARD = 'tab\there, new\nline, back\\slash, "quotes", \\N, naïve ☃, {"not": "json"}'


def entry(event_id: str, text: str = "plain") -> LedgerEntry:
    return LedgerEntry(
        source=LedgerSource.WEBHOOK,
        outcome=LedgerOutcome.NOTED,
        event_id=event_id,
        event="room_started",
        room_name=text,
        reason=text,
        size=2**31 - 1,
        updated_at_ns=2**62,
        payload={"text": text, "nested": [text, None, 1.5, True]},
    )


def test_awkward_text_and_large_numbers_come_back_as_they_went_in():
    LedgerEntry.insert_all([entry("EV_rows_1", AWKWARD), entry("EV_rows_2", "")])
    first, second = LedgerEntry.objects.order_by("event_id")
    assert (first.room_name, first.reason) == (AWKWARD, AWKWARD)
    assert first.payload == {"text": AWKWARD, "nested": [AWKWARD, None, 1.5, True]}
    assert (first.size, first.updated_at_ns, first.job_id) == (2**31 - 1, 2**62, None)
    assert first.received_at is not None
    assert (second.room_name, second.payload["text"]) == ("", "")


def test_a_batch_that_breaks_a_unique_id_leaves_nothing():
    LedgerEntry.insert_all([entry("EV_rows_taken")])
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.insert_all([entry("EV_rows_new"), entry("EV_rows_taken")])
    assert list(LedgerEntry.objects.values_list("event_id", flat=True)) == ["EV_rows_taken"]
