from __future__ import annotations

from django.db import models

from egress_app.roles import PERMISSIONS


class Access(models.Model):
    """A table-less anchor for the dashboard's own permissions (see egress_app/roles.py).

    Permissions need a content type; the domain models added later carry their own.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = list(PERMISSIONS.items())
        verbose_name = "dashboard access"

    def __str__(self) -> str:
        return "dashboard access"
