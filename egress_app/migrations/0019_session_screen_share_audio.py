"""A session may tap screen-share audio too, and a tap says which source it taps (issue 14,
section 1)."""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("egress_app", "0018_tap_participant_names")]

    operations = [
        migrations.AddField(
            model_name="audiosession",
            name="screen_share_audio",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="audiotap",
            name="track_source",
            field=models.CharField(
                choices=[
                    ("microphone", "Microphone"),
                    ("screen_share_audio", "Screen-share audio"),
                ],
                default="microphone",
                max_length=32,
            ),
        ),
    ]
