"""Room names as long as LiveKit lets them be (issue 13, section 1): text columns."""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("egress_app", "0012_job_audit"),
    ]

    operations = [
        migrations.AlterField(
            model_name="egressjob",
            name="room_name",
            field=models.TextField(blank=True),
        ),
        migrations.AlterField(
            model_name="ledgerentry",
            name="room_name",
            field=models.TextField(blank=True),
        ),
    ]
