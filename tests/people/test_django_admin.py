"""Django admin cannot change people or roles: the People page is the only way, so the last
admin stays and every change is audited (Django admin would do neither)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from egress_app.roles import ADMINS

pytestmark = pytest.mark.django_db


def test_it_refuses_to_change_a_person_in_django_admin(client: Client, admin) -> None:
    client.force_login(admin)
    change = reverse("admin:auth_user_change", args=[admin.pk])

    response = client.post(change, {"username": admin.username, "is_active": ""})

    assert response.status_code == 403
    admin.refresh_from_db()
    assert admin.is_active
    assert client.get(reverse("admin:auth_user_add")).status_code == 403
    delete = reverse("admin:auth_user_delete", args=[admin.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403


def test_it_refuses_to_change_a_role_in_django_admin(client: Client, admin) -> None:
    client.force_login(admin)
    admins = Group.objects.get(name=ADMINS)

    delete = reverse("admin:auth_group_delete", args=[admins.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert Group.objects.filter(name=ADMINS).exists()
    assert client.get(reverse("admin:auth_group_add")).status_code == 403
