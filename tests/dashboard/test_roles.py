from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from egress_app.roles import (
    ADMINS,
    MANAGE_DESTINATIONS,
    MANAGE_STORAGE,
    MANAGE_USERS,
    PRODUCERS,
    ROLE_PERMISSIONS,
    SUPPORT,
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
