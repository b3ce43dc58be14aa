from __future__ import annotations

from typing import Any

from django.db import migrations

# How often a part of a room name occurs, as the history's room filter asks it (UPPER(room_name)
# LIKE '%0042%'), PostgreSQL estimates from the statistics it keeps on the trigram index's
# expression (0015). With the default 100 buckets, a deployment of 2,000 rooms "room-<n>" was
# estimated at 3,345 jobs for a room about 500 hold on some of ANALYZE's samples: PostgreSQL then
# read the newest jobs backwards and filtered out 110,000 of them (65-68 ms p95, bench/history.py)
# instead of asking the index (5 ms). 1,000 buckets estimated 313 on the same database.
INDEX = "egress_job_room_name_trgm"
STATISTICS = 1000


def keep_more_statistics(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"ALTER INDEX {INDEX} ALTER COLUMN 1 SET STATISTICS {STATISTICS}")
    schema_editor.execute("ANALYZE egress_app_egressjob")


def keep_default_statistics(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"ALTER INDEX {INDEX} ALTER COLUMN 1 SET STATISTICS -1")


class Migration(migrations.Migration):
    dependencies = [
        ("egress_app", "0034_report_days"),
    ]

    operations = [
        migrations.RunPython(keep_more_statistics, keep_default_statistics, elidable=False),
    ]
