"""Audio sessions and their taps (issue 14, sections 1 and 2)."""

from __future__ import annotations

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("egress_app", "0013_room_names_whole"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
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
                ],
                max_length=32,
            ),
        ),
        migrations.CreateModel(
            name="AudioSession",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("room_name", models.TextField()),
                (
                    "state",
                    models.CharField(
                        choices=[("running", "Running"), ("ended", "Ended")],
                        default="running",
                        max_length=16,
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("ended_at", models.DateTimeField(blank=True, null=True)),
                ("claimed_until", models.DateTimeField(blank=True, editable=False, null=True)),
                (
                    "started_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="audio_sessions",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="AudioTap",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("participant_identity", models.TextField()),
                ("track_sid", models.CharField(max_length=64)),
                ("track_name", models.TextField(blank=True)),
                ("token_hash", models.CharField(editable=False, max_length=64)),
                ("token_expires_at", models.DateTimeField()),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("waiting", "Waiting for egress"),
                            ("connected", "Connected"),
                            ("closed", "Closed"),
                            ("failed", "Not started"),
                        ],
                        default="waiting",
                        max_length=16,
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("connected_at", models.DateTimeField(blank=True, null=True)),
                ("closed_at", models.DateTimeField(blank=True, null=True)),
                ("bytes_received", models.BigIntegerField(default=0)),
                ("muted", models.BooleanField(default=False)),
                ("refusals", models.PositiveIntegerField(default=0)),
                ("ignored_messages", models.PositiveIntegerField(default=0)),
                (
                    "job",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="audio_tap",
                        to="egress_app.egressjob",
                    ),
                ),
                (
                    "session",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="taps",
                        to="egress_app.audiosession",
                    ),
                ),
            ],
            options={
                "ordering": ["created_at", "id"],
            },
        ),
        migrations.AddConstraint(
            model_name="audiosession",
            constraint=models.UniqueConstraint(
                condition=models.Q(("state", "running")),
                fields=("room_name",),
                name="one_running_audio_session_per_room",
            ),
        ),
    ]
