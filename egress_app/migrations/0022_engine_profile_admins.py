"""Let admins manage engine profiles (a permission of their own), and audit them.

A frozen copy of roles.MANAGE_ENGINES as of this migration (see 0002_roles).
"""

from __future__ import annotations

from django.contrib.auth.management import create_permissions
from django.db import migrations, models

PERMISSIONS = [
    ("view_dashboard", "Can open the dashboard and its live overview"),
    ("launch_egress", "Can launch egress (recordings and streams)"),
    ("control_egress", "Can stop and update running egress"),
    ("view_all_jobs", "Can review every job, not only their own"),
    ("manage_storage", "Can manage storage credentials"),
    ("manage_destinations", "Can manage stream destinations"),
    ("manage_users", "Can manage users and their roles"),
    ("manage_engines", "Can manage speech-to-text engine profiles and their keys"),
]


def _manage_engines(apps, schema_editor):
    # post_migrate (which normally creates permissions) has not run yet on a fresh database.
    app_config = apps.get_app_config("egress_app")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps, using=schema_editor.connection.alias)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    return Permission.objects.filter(
        content_type__app_label="egress_app", codename="manage_engines"
    )


def grant(apps, schema_editor):
    admins = apps.get_model("auth", "Group").objects.filter(name="admins").first()
    if admins is not None:
        admins.permissions.add(*_manage_engines(apps, schema_editor))


def revoke(apps, schema_editor):
    admins = apps.get_model("auth", "Group").objects.filter(name="admins").first()
    if admins is not None:
        admins.permissions.remove(*_manage_engines(apps, schema_editor))


class Migration(migrations.Migration):
    dependencies = [("egress_app", "0021_audio_processing_lease")]

    operations = [
        migrations.AlterModelOptions(
            name="access",
            options={
                "default_permissions": (),
                "managed": False,
                "permissions": PERMISSIONS,
                "verbose_name": "dashboard access",
            },
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="target_type",
            field=models.CharField(
                choices=[
                    ("storage_profile", "Storage profile"),
                    ("stream_destination", "Stream destination"),
                    ("secrets", "Stored secrets"),
                    ("job", "Job"),
                    ("recipe", "Recipe"),
                    ("audio_session", "Audio session"),
                    ("transcript", "Transcript"),
                    ("engine_profile", "Engine profile"),
                ],
                max_length=32,
            ),
        ),
        migrations.RunPython(grant, revoke),
    ]
