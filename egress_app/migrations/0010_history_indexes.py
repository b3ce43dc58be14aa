from __future__ import annotations

from typing import Any

from django.db import migrations, models

# The history's error text filter is `UPPER(column) LIKE UPPER('%words%')` (Django's icontains
# on PostgreSQL): trigram indexes on those expressions answer it without reading every job.
# pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it.
TRIGRAM_INDEXES = {
    "egress_job_error_trgm": "error",
    "egress_job_details_trgm": "details",
}


def add_trigram_indexes(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in TRIGRAM_INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON egress_app_egressjob "
            f"USING gin (UPPER({column}) gin_trgm_ops)"
        )
    # The planner knows an expression's values only once analysed: without it, it would take a
    # common search for a rare one and read every match before the newest.
    schema_editor.execute("ANALYZE egress_app_egressjob")


def drop_trigram_indexes(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("egress_app", "0009_egressjob_flag_silent"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="egressjob",
            name="egress_app__status_31532b_idx",
        ),
        migrations.RemoveIndex(
            model_name="egressjob",
            name="egress_app__kind_9ca803_idx",
        ),
        migrations.RemoveIndex(
            model_name="egressjob",
            name="egress_app__room_na_b1a8db_idx",
        ),
        migrations.RemoveIndex(
            model_name="egressjob",
            name="egress_app__created_f01efb_idx",
        ),
        migrations.AddIndex(
            model_name="egressjob",
            index=models.Index(fields=["status", "id"], name="egress_job_status_id"),
        ),
        migrations.AddIndex(
            model_name="egressjob",
            index=models.Index(fields=["kind", "id"], name="egress_job_kind_id"),
        ),
        migrations.AddIndex(
            model_name="egressjob",
            index=models.Index(fields=["room_name", "id"], name="egress_job_room_id"),
        ),
        migrations.AddIndex(
            model_name="egressjob",
            index=models.Index(fields=["created_at", "id"], name="egress_job_created_id"),
        ),
        migrations.RunPython(add_trigram_indexes, drop_trigram_indexes, elidable=False),
    ]
