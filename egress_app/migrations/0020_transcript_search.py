from __future__ import annotations

from typing import Any

from django.db import migrations, models

# The Transcripts search is PostgreSQL's full-text search on an utterance's words with the
# 'simple' configuration (egress_app.transcripts): this GIN index holds the very expression
# Django writes for SearchVector("text", config="simple"), so a search reads the index, not
# every utterance. SQLite has no such search (it falls back to icontains) and no index here.
INDEX = "egress_utterance_text_fts"


def add_search_index(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON egress_app_utterance "
        "USING gin (to_tsvector('simple'::regconfig, COALESCE(text, '')))"
    )


def drop_search_index(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("egress_app", "0019_session_screen_share_audio"),
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
                    ("transcript", "Transcript"),
                ],
                max_length=32,
            ),
        ),
        migrations.AddIndex(
            model_name="transcription",
            index=models.Index(fields=["created_at", "id"], name="egress_transcript_created_id"),
        ),
        migrations.RunPython(add_search_index, drop_search_index, elidable=False),
    ]
