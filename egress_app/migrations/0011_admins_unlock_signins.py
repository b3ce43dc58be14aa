"""Let admins see django-axes's sign-in records and lift a lockout in Django admin.

A frozen copy of roles.SIGNIN_ADMIN_PERMISSIONS as of this migration (see 0002_roles).
"""

from __future__ import annotations

from django.contrib.auth.management import create_permissions
from django.db import migrations

SIGNIN_ADMIN = {
    "view_accessattempt",
    "delete_accessattempt",
    "view_accessfailurelog",
    "view_accesslog",
}


def _permissions(apps, schema_editor):
    # post_migrate (which normally creates permissions) has not run yet on a fresh database.
    app_config = apps.get_app_config("axes")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps, using=schema_editor.connection.alias)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    return Permission.objects.filter(content_type__app_label="axes", codename__in=SIGNIN_ADMIN)


def grant(apps, schema_editor):
    admins = apps.get_model("auth", "Group").objects.filter(name="admins").first()
    if admins is not None:
        admins.permissions.add(*_permissions(apps, schema_editor))


def revoke(apps, schema_editor):
    admins = apps.get_model("auth", "Group").objects.filter(name="admins").first()
    if admins is not None:
        admins.permissions.remove(*_permissions(apps, schema_editor))


class Migration(migrations.Migration):
    dependencies = [
        ("egress_app", "0010_history_indexes"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
