from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from pytest_django.fixtures import Settings

from egress_app.models import EgressJob
from egress_app.roles import (
    ADMINS,
    MANAGE_DESTINATIONS,
    MANAGE_ENGINES,
    MANAGE_STORAGE,
    MANAGE_USERS,
    PRODUCERS,
    ROLE_PERMISSIONS,
    SUPPORT,
    may_control,
    perm,
    user_role,
)
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def permissions_of(name: str) -> set[str]:
    group = Group.objects.get(name=name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}


@pytest.mark.parametrize("role", [PRODUCERS, ADMINS, SUPPORT])
def test_it_gives_each_role_exactly_its_permissions(role):
    assert permissions_of(role) == set(ROLE_PERMISSIONS[role])


def test_it_creates_only_the_three_roles():
    assert set(Group.objects.values_list("name", flat=True)) == {PRODUCERS, ADMINS, SUPPORT}


def test_it_keeps_support_away_from_secrets_and_settings():
    manage = {perm(MANAGE_STORAGE), perm(MANAGE_DESTINATIONS), perm(MANAGE_USERS)}
    manage |= {perm(MANAGE_ENGINES)}
    assert not manage & permissions_of(SUPPORT)
    assert not any(
        ".add_" in p or ".change_" in p or ".delete_" in p for p in permissions_of(SUPPORT)
    )


def test_it_lets_admins_manage_users_in_django_admin():
    assert {"auth.change_user", "auth.add_group", "auth.change_group"} <= permissions_of(ADMINS)


def test_it_does_not_let_producers_manage_anything():
    assert not any(p.split(".")[1].startswith("manage_") for p in permissions_of(PRODUCERS))


def test_it_names_the_role_of_each_persona(producer, admin, support, outsider):
    assert [user_role(u) for u in (producer, admin, support, outsider)] == [
        "Producer",
        "Admin",
        "Support",
        None,
    ]


def test_it_shows_the_most_powerful_role_of_a_user_in_several():
    user = make_user("both", PRODUCERS)
    user.groups.add(Group.objects.get(name=ADMINS))
    assert user_role(user) == "Admin"


def test_it_shows_a_superuser_as_admin():
    assert user_role(make_user("root", is_superuser=True)) == "Admin"


# --- who controls a running job -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("persona", "owner", "allowed"),
    [
        ("producer", "producer", True),  # their own show
        ("admin", "producer", True),
        ("admin", None, True),  # started outside the dashboard
        ("support", "support", True),  # the retry they started
        ("other", "producer", False),  # another producer's show
        ("support", "producer", False),
        ("outsider", "producer", False),
        ("outsider", "outsider", False),  # no role any more: no control either
        ("producer", None, False),
    ],
)
def test_it_lets_the_jobs_owner_and_admins_control_it(request, persona, owner, allowed):
    other = make_user("pia-producer", PRODUCERS)
    people = {"other": other} | {
        name: request.getfixturevalue(name) for name in ("producer", "admin", "support", "outsider")
    }
    job = EgressJob(started_by=people[owner] if owner else None)
    assert may_control(people[persona], job) is allowed


def test_it_never_lets_an_anonymous_visitor_control_a_job(producer):
    assert not may_control(AnonymousUser(), EgressJob(started_by=None))


def test_it_shares_control_with_every_producer_when_set(producer, support, settings: Settings):
    settings.EGRESS_PRODUCERS_SHARE_CONTROL = True
    job = EgressJob(started_by=producer)
    assert may_control(make_user("pia-producer", PRODUCERS), job)
    assert may_control(make_user("ed-producer", PRODUCERS), EgressJob(started_by=None))
    assert not may_control(support, job)  # support still only controls what it started
