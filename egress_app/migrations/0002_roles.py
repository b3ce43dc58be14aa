"""Create the three roles (groups) with their explicit permissions.

A frozen copy of egress_app/roles.py as of this migration: a later change to the roles comes
with a new data migration, and tests/dashboard/test_roles.py checks the two still agree.
"""

from __future__ import annotations

from django.contrib.auth.management import create_permissions
from django.db import migrations

EGRESS = [
    "view_dashboard",
    "launch_egress",
    "control_egress",
    "view_all_jobs",
    "manage_storage",
    "manage_destinations",
    "manage_users",
]
AUTH = [
    f"{action}_{model}"
    for model in ("user", "group")
    for action in ("add", "change", "delete", "view")
]

ROLES = {
    "producers": {"egress_app": ["view_dashboard", "launch_egress", "control_egress"]},
    "admins": {"egress_app": EGRESS, "auth": AUTH},
    "support": {"egress_app": ["view_dashboard", "view_all_jobs"]},
}


def ensure_permissions(apps, schema_editor):
    # post_migrate (which normally creates permissions) has not run yet on a fresh database.
    for label in ("auth", "egress_app"):
        app_config = apps.get_app_config(label)
        # create_permissions skips app configs without a models module; migration state's
        # stand-in configs have none, so lend it one for the call.
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps, using=schema_editor.connection.alias)
        app_config.models_module = None


def create_roles(apps, schema_editor):
    ensure_permissions(apps, schema_editor)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, grants in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = [
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
            for app_label, codenames in grants.items()
            for codename in codenames
        ]
        group.permissions.set(wanted)


def delete_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("egress_app", "0001_access"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, delete_roles)]
