from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("egress_app", "0008_egressjob_retry_of"),
    ]

    operations = [
        migrations.AlterField(
            model_name="egressjob",
            name="flag",
            field=models.CharField(
                blank=True,
                choices=[
                    ("stuck_starting", "Stuck in STARTING"),
                    ("lost", "Unknown to LiveKit"),
                    ("silent", "Active with no news"),
                ],
                max_length=16,
            ),
        ),
    ]
