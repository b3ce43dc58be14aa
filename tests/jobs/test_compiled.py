"""`Compiled`: a query compiled once per database and number of values gives what its queryset
gives, whatever the values, and what Django would not let it reuse is compiled each time."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from egress_app.livekit.scrub import HIDDEN
from egress_app.models import Compiled, EgressJob, EgressKind, EgressStatus, stored_secrets
from tests.jobs import make_destination

pytestmark = pytest.mark.django_db


def make_jobs(*egress_ids: str) -> list[EgressJob]:
    return [
        EgressJob.objects.create(egress_id=egress_id, kind=EgressKind.ROOM_COMPOSITE)
        for egress_id in egress_ids
    ]


def test_it_selects_what_its_queryset_selects_with_each_set_of_values():
    jobs = make_jobs("EG_c1", "EG_c2", "EG_c3", "EG_c4")
    by_pk = Compiled(lambda ids: EgressJob.objects.filter(egress_id__in=ids).order_by("pk"))
    for ids in (["EG_c3", "EG_c1"], ["EG_c2", "EG_c4"], ["EG_c4"], ["EG_c9", "EG_c2"]):
        expected = list(EgressJob.objects.filter(egress_id__in=ids).order_by("pk"))
        got = by_pk.objects(ids)
        assert got == expected
        assert [job.egress_id for job in got] == [job.egress_id for job in expected]
    assert {job.pk for job in by_pk.objects(["EG_c1"])} == {jobs[0].pk}
    # One compiled statement per number of values, used again with other values.
    assert set(by_pk.statements) == {(by_pk.using, 1), (by_pk.using, 2)}
    assert all(statement.sql for statement in by_pk.statements.values())


def test_its_instances_are_whole_and_converted_as_the_orm_gives_them():
    (job,) = make_jobs("EG_whole")
    job.info = {"egress_id": "EG_whole", "updated_at": "12"}
    job.status = EgressStatus.ACTIVE
    job.save()
    compiled = Compiled(lambda ids: EgressJob.objects.filter(egress_id__in=ids))
    (got,) = compiled.objects(["EG_whole"])
    assert got.info == {"egress_id": "EG_whole", "updated_at": "12"}  # JSON read back
    assert got.created_at == job.created_at  # an aware datetime
    assert got.get_deferred_fields() == set()  # no field left to a query per job
    assert got.is_active


def test_it_gives_rows_as_the_database_does():
    make_jobs("EG_r1", "EG_r2")
    ids = Compiled(lambda ids: EgressJob.objects.filter(egress_id__in=ids).values("egress_id"))
    assert sorted(ids.rows(["EG_r2", "EG_r1", "EG_none", "EG_r2"])) == [["EG_r1"], ["EG_r2"]]
    # A value twice is asked once, as `__in` asks it: the statement of three is reused.
    assert ids.statements[(ids.using, 3)].sql


def test_it_compiles_each_time_a_query_whose_parameters_are_not_only_the_values():
    make_jobs("EG_p1", "EG_p2")
    EgressJob.objects.filter(egress_id="EG_p2").update(status=EgressStatus.ACTIVE)
    active = Compiled(
        lambda ids: EgressJob.objects.filter(egress_id__in=ids, status=EgressStatus.ACTIVE)
    )
    assert [job.egress_id for job in active.objects(["EG_p1", "EG_p2"])] == ["EG_p2"]
    assert active.statements[(active.using, 2)].sql is None
    assert [job.egress_id for job in active.objects(["EG_p1", "EG_p2"])] == ["EG_p2"]


def test_a_lock_compiled_in_a_transaction_is_taken_again_in_the_next():
    make_jobs("EG_l1")
    locked = Compiled(lambda ids: EgressJob.objects.select_for_update().filter(egress_id__in=ids))
    for _ in range(2):
        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            assert [job.egress_id for job in locked.objects(["EG_l1"])] == ["EG_l1"]
        if connection.features.has_select_for_update:
            assert any("FOR UPDATE" in query["sql"] for query in queries.captured_queries)


def test_stored_secrets_sees_a_secret_added_after_it_was_first_read(admin):
    assert not stored_secrets()
    make_destination(admin, key="SECRET-added-later-XYZ123")
    assert stored_secrets().hide("key SECRET-added-later-XYZ123") == f"key {HIDDEN}"
