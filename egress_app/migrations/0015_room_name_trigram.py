from __future__ import annotations

from typing import Any

from django.db import migrations

# The history's room filter is `UPPER(room_name) LIKE UPPER('%part%')` (Django's icontains on
# PostgreSQL), as its error text filter is (0010): a trigram index on that expression answers
# it without reading every job. pg_trgm is created by 0010.
INDEX = "egress_job_room_name_trgm"


def add_trigram_index(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON egress_app_egressjob "
        "USING gin (UPPER(room_name) gin_trgm_ops)"
    )
    schema_editor.execute("ANALYZE egress_app_egressjob")


def drop_trigram_index(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("egress_app", "0014_audio_sessions"),
    ]

    operations = [
        migrations.RunPython(add_trigram_index, drop_trigram_index, elidable=False),
    ]
