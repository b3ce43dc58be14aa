"""A tap keeps its participant's display name from ListParticipants (issue 14, section 3)."""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("egress_app", "0017_transcripts")]

    operations = [
        migrations.AddField(
            model_name="audiotap",
            name="participant_name",
            field=models.TextField(blank=True),
        ),
    ]
