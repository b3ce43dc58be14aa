"""The team's actions (egress_app/actions/people.py): the last admin stays, even when two admins
demote each other at the same moment (run with DATABASE_URL set to PostgreSQL for the real race:
SQLite serialises every write transaction anyway)."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth.models import User
from django.db import connection

from egress_app.actions import people
from egress_app.roles import ADMINS, PRODUCERS
from tests.conftest import make_user


@pytest.mark.django_db
def test_it_counts_a_superuser_as_an_admin(admin) -> None:
    boss = User.objects.create_superuser("root", password="root-test-pass")
    people.change_role(boss, admin, PRODUCERS)
    with pytest.raises(people.LastAdminError):
        people.deactivate_person(admin, boss)


@pytest.mark.django_db
def test_it_leaves_a_deactivated_admin_out_of_the_count(admin) -> None:
    other = make_user("abe-admin", ADMINS)
    people.deactivate_person(admin, other)
    with pytest.raises(people.LastAdminError, match="last active admin"):
        people.change_role(admin, admin, PRODUCERS)


@pytest.mark.django_db
def test_it_spends_a_link_once_and_audits_the_new_password(admin) -> None:
    user, issued = people.create_person(
        admin, username="nina", email="", role=PRODUCERS, password=None
    )
    assert issued is not None
    hashed = people.token_hash(issued.token)
    people.set_password_by_link(hashed, "river-boat-lantern")
    with pytest.raises(people.LinkError, match="already been used"):
        people.set_password_by_link(hashed, "another-boat-lantern")
    assert User.objects.get(pk=user.pk).check_password("river-boat-lantern")


def _demote_each_other(first: User, second: User) -> list[str]:
    """Two admins demote each other in two threads released at once; what each got."""
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def demote(actor: User, target: User) -> None:
        try:
            start.wait()
            people.change_role(actor, User.objects.get(pk=target.pk), PRODUCERS)
            outcomes.append("demoted")
        except people.LastAdminError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=demote, args=(first, second)),
        threading.Thread(target=demote, args=(second, first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="in-memory SQLite locks whole tables across threads"
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_keeps_one_admin_when_two_demote_each_other_at_once() -> None:
    for attempt in range(5):
        first = make_user(f"ann-{attempt}", ADMINS)
        second = make_user(f"bob-{attempt}", ADMINS)
        assert _demote_each_other(first, second) == ["demoted", "refused"]
        assert people.active_admins().count() == 1
        User.objects.filter(pk__in=[first.pk, second.pk]).delete()
